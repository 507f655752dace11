// The backend kit's shutdown: whatever happens, the caller of Registry::shutdown() hears back
// exactly once, clean or not, by the timeout at the latest. The backend counts the requests its
// shutdown sends (expect), each settles once (settle), and the last one finishes it; an outage
// is retried on the latch's own timers (again_after), which stop with it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <list>

#include "runtime/clock.hpp"
#include "runtime/timer.hpp"

namespace registrar::registry::common {

// How soon a shutdown request that found the registry unreachable is sent again.
inline constexpr std::chrono::milliseconds kShutdownRetry{100};

class ShutdownLatch {
 public:
  using Finish = std::function<void(bool clean)>;

  ShutdownLatch(boost::asio::any_io_executor executor, const runtime::Clock& clock)
      : executor_(std::move(executor)), clock_(&clock), deadline_(executor_, clock) {}

  // Opens the latch: `finish` will be called exactly once, by finish(), by the last settle(), or
  // after `timeout` (clean = false, once `on_timeout` has said what is left behind). Call once.
  void open(std::chrono::milliseconds timeout, Finish finish, std::function<void()> on_timeout);
  // Nothing to do: finishes on the executor, never within the caller's own call.
  void finish_soon(bool clean);
  // `n` more requests must settle before the shutdown is finished.
  void expect(std::size_t n) { pending_ += n; }
  // One of them is over (`clean`: it did what it should); the last one finishes.
  void settle(bool clean);
  // Finishes now (nothing if already finished).
  void finish(bool clean);
  // Runs `retry` after `delay`, unless finished by then.
  void again_after(std::chrono::milliseconds delay, std::function<void()> retry);

  // Between open() and finishing: answers to shutdown requests still matter.
  bool active() const { return static_cast<bool>(finish_); }
  bool opened() const { return opened_; }

 private:
  boost::asio::any_io_executor executor_;
  const runtime::Clock* clock_;
  runtime::Timer deadline_;          // the timeout, or finish_soon()
  std::list<runtime::Timer> again_;  // retries of shutdown requests; pruned when re-used
  Finish finish_;
  bool opened_ = false;
  std::size_t pending_ = 0;
  bool clean_ = true;  // every settled request was clean
};

}  // namespace registrar::registry::common
