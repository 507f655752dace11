// A re-armable one-shot timer on the injected clock: part of the kit every registry backend and
// prober shares. Arming it again, cancelling it or destroying it guarantees that no earlier
// expiry runs its callback, even one already queued on the executor (the stale-handler race of a
// bare asio timer, which needed a generation counter beside every timer). So a callback may
// capture its owner's `this` when the owner holds the Timer: the Timer dies with the owner, and
// the callback with it. That guarantee holds on the executor's thread: destroy the owner there
// (the daemon has one thread, and owners die after its event loop stops), never from another
// thread while an expiry may be running.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <optional>

#include "runtime/clock.hpp"

namespace registrar::runtime {

class Timer {
 public:
  Timer(boost::asio::any_io_executor executor, const Clock& clock)
      : executor_(std::move(executor)), clock_(&clock) {}
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Runs `fire` on the executor once the clock reaches `at` (at once, through the executor, if
  // it already has). Replaces any pending expiry.
  void arm_at(Clock::time_point at, std::function<void()> fire);
  void arm_after(Clock::duration delay, std::function<void()> fire) {
    arm_at(clock_->now() + delay, std::move(fire));
  }
  void cancel() {
    alarm_.reset();
    expiry_.reset();
  }
  bool armed() const { return alarm_ != nullptr; }
  // When the pending expiry falls due, if one is pending.
  std::optional<Clock::time_point> expiry() const { return expiry_; }

 private:
  boost::asio::any_io_executor executor_;
  const Clock* clock_;
  std::shared_ptr<void> alarm_;  // released: the pending expiry does nothing
  std::optional<Clock::time_point> expiry_;
};

}  // namespace registrar::runtime
