#include "registry/common/retry_schedule.hpp"

#include <algorithm>

namespace registrar::registry::common {

RetrySchedule::RetrySchedule(boost::asio::any_io_executor executor, const runtime::Clock& clock,
                             const config::BackoffSpec& settings, runtime::Backoff::Random random,
                             std::function<void()> due)
    : settings_(settings),
      random_(std::move(random)),
      backoff_(make_backoff()),
      due_(std::move(due)),
      timer_(std::move(executor), clock) {}

runtime::Backoff RetrySchedule::make_backoff() const {
  return runtime::Backoff(settings_.initial, settings_.max, settings_.multiplier, settings_.jitter,
                          random_);
}

void RetrySchedule::later(runtime::Backoff& backoff) {
  if (pending() || stopped_) return;
  // `this` is safe: the timer is a member, and a destroyed timer never fires.
  timer_.arm_after(backoff.next(), [this] { due_(); });
}

void RetrySchedule::later_within(runtime::Clock::duration cap) {
  if (pending() || stopped_) return;
  const runtime::Clock::duration delay = backoff_.next();
  timer_.arm_after(std::min(delay, cap), [this] { due_(); });
}

bool RetrySchedule::cut_short() {
  if (!pending()) return false;
  timer_.cancel();
  return true;
}

void RetrySchedule::stop() {
  stopped_ = true;
  timer_.cancel();
}

}  // namespace registrar::registry::common
