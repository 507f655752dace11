// Injectable time. Every duration and timeout in the daemon is measured on the monotonic clock
// (now()); the wall clock (wall_now()) is only ever shown to humans (status pages, "last change
// at"), never used to decide anything, so that a wall-clock step (NTP, an operator, a VM resume)
// changes nothing. Production uses SteadyClock; tests drive a ManualClock, whose wall clock can
// jump independently of its monotonic one.
#pragma once

#include <chrono>

namespace registrar::runtime {

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using wall_time_point = std::chrono::system_clock::time_point;
  static_assert(std::chrono::steady_clock::is_steady);
  virtual ~Clock() = default;
  virtual time_point now() const = 0;
  virtual wall_time_point wall_now() const { return std::chrono::system_clock::now(); }
};

class SteadyClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
};

class ManualClock final : public Clock {
 public:
  time_point now() const override { return now_; }
  wall_time_point wall_now() const override { return wall_; }
  // Time passes: both clocks move on.
  void advance(std::chrono::steady_clock::duration d) {
    now_ += d;
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
  }
  // The wall clock is stepped (forwards or backwards); the monotonic clock does not move.
  void jump_wall(std::chrono::system_clock::duration d) { wall_ += d; }

 private:
  time_point now_{};
  wall_time_point wall_{};
};

}  // namespace registrar::runtime
