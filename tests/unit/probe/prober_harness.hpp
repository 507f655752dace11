// The prober tests' harness: an io_context, a prober on it with a ManualClock, everything it
// reported, and the two ways of waiting (real time with the clock standing still, or the clock
// moving on from timer to timer whenever nothing else happens).
#pragma once

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probe/grpc_health_prober.hpp"
#include "runtime/clock.hpp"

namespace registrar::test {

using namespace std::chrono_literals;
using config::ProbeMode;
using config::ServiceSpec;
using probe::make_grpc_health_prober;
using probe::Outcome;
using probe::Prober;
using probe::Result;
using probe::to_string;
using runtime::Clock;
using runtime::ManualClock;
using SteadyClock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// Generous bound on every wait: these tests assert behaviour, not speed (and also run under
// ThreadSanitizer on a loaded 2-core machine).
inline constexpr Millis kDeadline = 10s;

inline ServiceSpec make_spec(const std::string& target, const std::string& service, ProbeMode mode,
                             Millis interval, Millis timeout = 3s) {
  ServiceSpec spec;
  spec.name = "svc";
  spec.address = "127.0.0.1";
  spec.probe.mode = mode;
  spec.probe.interval = interval;
  // A liveness Check at every repeat (the behaviour before liveness_interval existed, and what
  // `liveness_interval` equal to `interval` gives): the tests of the liveness interval itself set
  // it after make_spec.
  spec.probe.liveness_interval = interval;
  spec.probe.timeout = timeout;
  spec.probe.target = target;
  spec.probe.service = service;
  return spec;
}

inline long long ms_between(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration_cast<Millis>(b - a).count();
}

struct Entry {
  SteadyClock::time_point at;       // real time: how long gRPC took
  Clock::time_point on_clock = {};  // the prober's clock: how much of it had to pass
  Result result;
};

// Runs `io` on this thread until `done()` holds or `limit` of real time passes. Returns done().
// The prober's clock does not move meanwhile: only gRPC's answers (in real time) come in.
template <class Pred>
bool run_until(boost::asio::io_context& io, Pred done, Millis limit = kDeadline) {
  const auto deadline = SteadyClock::now() + limit;
  while (!done()) {
    const auto now = SteadyClock::now();
    if (now >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(std::min<SteadyClock::duration>(deadline - now, 50ms));
  }
  return true;
}

// Runs `io` on this thread for `d` of real time.
inline void run_for(boost::asio::io_context& io, Millis d) {
  run_until(
      io, [] { return false; }, d);
}

// Runs `io` until it has no work left (every gRPC call of the prober finished; timers on a
// ManualClock are not work) or `limit` passes. Returns whether it ran out of work.
inline bool drain(boost::asio::io_context& io, Millis limit = kDeadline) {
  const auto deadline = SteadyClock::now() + limit;
  io.restart();
  while (!io.stopped()) {
    const auto now = SteadyClock::now();
    if (now >= deadline) return false;
    io.run_for(deadline - now);
  }
  return true;
}

// How long nothing must have happened before the manual clock moves on: gRPC's answers to what
// has run so far have come in by then, as a rule. When one is later (a loaded machine), time
// only passes a little early, as it could in the daemon; the tests allow for that.
inline constexpr Millis kSettle = 20ms;

// Runs `io` until `done()`, or `limit` of real time. Whenever nothing has happened for kSettle,
// `clock` moves on to the next timer due on it.
template <class Pred>
bool tick_until(boost::asio::io_context& io, ManualClock& clock, Pred done,
                Millis limit = kDeadline) {
  const auto deadline = SteadyClock::now() + limit;
  while (!done()) {
    if (SteadyClock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    if (io.run_one_for(kSettle) > 0) continue;
    if (const auto next = clock.next_expiry()) clock.advance(*next - clock.now());
  }
  return true;
}

// An io_context, a prober on it and everything it reported. The prober's clock is a ManualClock
// that moves only when a test lets time pass (pass_time, or the tick_* waits), so that intervals,
// repeats, backoffs and first-message timeouts cost no real time; gRPC's answers and its
// deadlines (the Check's `timeout`) still take theirs.
struct Harness {
  enum class Time { Manual, Real };
  explicit Harness(Time time = Time::Manual)
      : clock(time == Time::Manual ? static_cast<const Clock&>(manual) : steady) {
    manual.drive_timers(true);
  }

  ManualClock manual;
  registrar::runtime::SteadyClock steady;
  const Clock& clock;
  boost::asio::io_context io;
  std::vector<Entry> entries;
  std::unique_ptr<Prober> prober;

  void start(const ServiceSpec& spec) {
    prober = make_grpc_health_prober(io.get_executor(), spec, clock);
    prober->start([this](const Result& r) { record(r); });
  }
  void record(const Result& r) { entries.push_back({SteadyClock::now(), clock.now(), r}); }
  ~Harness() {
    if (prober) prober->stop();
    prober.reset();
    drain(io);
  }

  template <class Pred>
  bool tick_until(Pred done, Millis limit = kDeadline) {
    return test::tick_until(io, manual, done, limit);
  }
  // Lets `d` of the manual clock pass, stopping at each of the prober's timers on the way (and
  // settling there) as a clock passing for real would.
  void pass_time(Clock::duration d) {
    const Clock::time_point end = manual.now() + d;
    for (;;) {
      if (io.stopped()) io.restart();
      while (io.run_one_for(kSettle) > 0) {
      }
      const auto next = manual.next_expiry();
      if (!next || *next > end) break;
      manual.advance(*next - manual.now());
    }
    manual.advance(end - manual.now());
    io.restart();
    while (io.run_one_for(kSettle) > 0) {
    }
  }

  std::size_t count(Outcome o, std::size_t from = 0) const {
    return static_cast<std::size_t>(
        std::count_if(entries.begin() + static_cast<std::ptrdiff_t>(std::min(from, entries.size())),
                      entries.end(), [o](const Entry& e) { return e.result.outcome == o; }));
  }
  std::optional<std::size_t> find(Outcome o, std::size_t from = 0) const {
    for (std::size_t i = from; i < entries.size(); ++i) {
      if (entries[i].result.outcome == o) return i;
    }
    return std::nullopt;
  }
  // Waits in real time, the clock standing still: for what the server sends by itself.
  bool wait_for(Outcome o, std::size_t from = 0, Millis limit = kDeadline) {
    return run_until(
        io, [&] { return find(o, from).has_value(); }, limit);
  }
  bool wait_for_count(std::size_t n, Millis limit = kDeadline) {
    return run_until(
        io, [&] { return entries.size() >= n; }, limit);
  }
  // Waits while the clock moves on from timer to timer: for what intervals, repeats and
  // backoffs bring.
  bool tick_for(Outcome o, std::size_t from = 0, Millis limit = kDeadline) {
    return tick_until([&] { return find(o, from).has_value(); }, limit);
  }
  bool tick_for_count(std::size_t n, Millis limit = kDeadline) {
    return tick_until([&] { return entries.size() >= n; }, limit);
  }
  std::string dump() const {
    std::string s;
    for (const Entry& e : entries)
      s += std::string(to_string(e.result.outcome)) + " [" + e.result.detail + "]\n";
    return s;
  }
};

}  // namespace registrar::test
