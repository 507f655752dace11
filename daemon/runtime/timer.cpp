#include "runtime/timer.hpp"

namespace registrar::runtime {

void Timer::arm_at(Clock::time_point at, std::function<void()> fire) {
  alarm_.reset();  // before scheduling: a due ManualClock alarm is posted by schedule() itself
  expiry_ = at;
  // `this` is safe: the alarm is released when this Timer is, and a released alarm never fires.
  alarm_ = clock_->schedule(executor_, at, [this, fire = std::move(fire)] {
    alarm_.reset();
    expiry_.reset();
    fire();
  });
}

}  // namespace registrar::runtime
