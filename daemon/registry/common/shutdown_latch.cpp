#include "registry/common/shutdown_latch.hpp"

#include <cassert>

namespace registrar::registry::common {

void ShutdownLatch::open(std::chrono::milliseconds timeout, Finish finish,
                         std::function<void()> on_timeout) {
  assert(!opened_ && "a shutdown opens its latch once");
  opened_ = true;
  finish_ = std::move(finish);
  deadline_.arm_after(timeout, [this, on_timeout = std::move(on_timeout)] {
    if (!active()) return;
    if (on_timeout) on_timeout();
    this->finish(false);
  });
}

void ShutdownLatch::finish_soon(bool clean) {
  assert(opened_ && "finish_soon() before open() would never finish");
  // At once, through the executor: replaces the timeout.
  deadline_.arm_after(std::chrono::milliseconds(0), [this, clean] { finish(clean); });
}

void ShutdownLatch::settle(bool clean) {
  if (!active()) return;
  if (!clean) clean_ = false;
  if (pending_ > 0 && --pending_ == 0) finish(clean_);
}

void ShutdownLatch::finish(bool clean) {
  if (!active()) return;
  deadline_.cancel();
  again_.clear();
  Finish finish = std::move(finish_);
  finish_ = nullptr;
  finish(clean);
}

void ShutdownLatch::again_after(std::chrono::milliseconds delay, std::function<void()> retry) {
  if (!active()) return;
  // Timers that have fired are done with (the callback running now owns its own copy).
  again_.remove_if([](const runtime::Timer& t) { return !t.armed(); });
  runtime::Timer& timer = again_.emplace_back(executor_, *clock_);
  timer.arm_after(delay, [this, retry = std::move(retry)] {
    if (active()) retry();
  });
}

}  // namespace registrar::registry::common
