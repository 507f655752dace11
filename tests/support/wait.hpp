// wait_until: poll a condition until it holds or a deadline passes. The only way tests wait.
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>
#include <type_traits>

namespace registrar::test {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

// Calls pred() until it returns true or `timeout` has passed; returns the last result.
// Bounded in time (the deadline) and in count (timeout / poll_interval + 2 evaluations).
// pred is always evaluated at least once, and once more at the deadline.
template <class Pred>
bool wait_until(Pred&& pred, Millis timeout, Millis poll_interval = 20ms) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  const Millis step = std::max(poll_interval, Millis{1});
  const long long max_iterations = timeout / step + 2;
  for (long long i = 0; i < max_iterations; ++i) {
    if (pred()) return true;
    const auto now = Clock::now();
    if (now >= deadline) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(step, deadline - now));
  }
  return static_cast<bool>(pred());
}

// Like wait_until, for a producer returning std::optional<T>: the first engaged value, or
// nullopt at the deadline.
template <class Fn>
auto wait_for_value(Fn&& fn, Millis timeout, Millis poll_interval = 20ms)
    -> std::invoke_result_t<Fn&> {
  std::invoke_result_t<Fn&> result;
  wait_until(
      [&] {
        result = fn();
        return result.has_value();
      },
      timeout, poll_interval);
  return result;
}

}  // namespace registrar::test
