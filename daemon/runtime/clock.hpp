// Injectable time. Every duration and timeout in the daemon is measured on the monotonic clock
// (now()); the wall clock (wall_now()) is only ever shown to humans (status pages, "last change
// at"), never used to decide anything, so that a wall-clock step (NTP, an operator, a VM resume)
// changes nothing. Production uses SteadyClock; tests drive a ManualClock, whose wall clock can
// jump independently of its monotonic one. Timers wait on the clock too (schedule(), and
// runtime::Timer on top of it), so that a ManualClock can drive them in tests.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace registrar::runtime {

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;
  using wall_time_point = std::chrono::system_clock::time_point;
  static_assert(std::chrono::steady_clock::is_steady);
  virtual ~Clock() = default;
  virtual time_point now() const = 0;
  virtual wall_time_point wall_now() const { return std::chrono::system_clock::now(); }

  // Calls `fire` on `executor` once now() has reached `at`, unless the returned handle has been
  // released (reset or destroyed) by then: releasing it guarantees that `fire` never runs
  // afterwards, even when its expiry was already queued on the executor. Call on the executor's
  // thread. This default waits on an asio steady_timer for `at - now()` of real time.
  [[nodiscard]] virtual std::shared_ptr<void> schedule(const boost::asio::any_io_executor& executor,
                                                       time_point at,
                                                       std::function<void()> fire) const;

 protected:
  // The steady_clock instant at which this clock will read `at`, for the default schedule().
  virtual time_point steady_instant(time_point at) const {
    return std::chrono::steady_clock::now() + (at - now());
  }
};

class SteadyClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }

 protected:
  time_point steady_instant(time_point at) const override { return at; }
};

// The process's one SteadyClock, for code whose tests need no other (the watchdog's pings).
const Clock& steady_clock();

// A clock that moves only when told. Its timers wait real time by default (at - now() of it),
// which tests of code that mixes real waits with advance() rely on; after drive_timers(true)
// they fire only when advance() reaches them: each due one is posted onto its executor, in
// expiry order, for the test's io_context to run. Not thread-safe: advance it, and arm its timers,
// on the thread that runs that io_context.
class ManualClock final : public Clock {
 public:
  time_point now() const override { return now_; }
  wall_time_point wall_now() const override { return wall_; }
  // Time passes: both clocks move on (and driven timers that fall due are posted).
  void advance(duration d);
  // The wall clock is stepped (forwards or backwards); the monotonic clock does not move.
  void jump_wall(std::chrono::system_clock::duration d) { wall_ += d; }

  void drive_timers(bool on) { drive_ = on; }
  // The earliest expiry of a driven timer still pending, if any.
  std::optional<time_point> next_expiry() const;

  std::shared_ptr<void> schedule(const boost::asio::any_io_executor& executor, time_point at,
                                 std::function<void()> fire) const override;

 private:
  struct Pending {
    time_point at;
    std::uint64_t order;  // ties fire in the order they were scheduled
    boost::asio::any_io_executor executor;
    std::weak_ptr<void> handle;
    std::function<void()> fire;
  };
  void post_due() const;

  time_point now_{};
  wall_time_point wall_{};
  bool drive_ = false;
  mutable std::vector<Pending> pending_;
  mutable std::uint64_t scheduled_ = 0;
};

// RFC 3339 in UTC with milliseconds: "2026-12-06T12:00:00.123Z" (status pages, watch events and
// the one-off commands' JSON lines share this one form).
std::string rfc3339_utc(Clock::wall_time_point t);

}  // namespace registrar::runtime
