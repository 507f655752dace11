// Capped, jittered exponential backoff. Pure: the random source is injected.
#pragma once

#include <chrono>
#include <functional>

namespace registrar::runtime {

class Backoff {
 public:
  using Duration = std::chrono::milliseconds;
  // Returns a uniform value in [0, 1).
  using Random = std::function<double()>;

  Backoff(Duration initial, Duration max, double multiplier, double jitter, Random random);

  // The delay before the next attempt; grows until `max` (jitter is applied around the
  // un-jittered value, and the result never exceeds max * (1 + jitter)).
  Duration next();
  // Back to `initial` after a success.
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  Duration initial_;
  Duration max_;
  double multiplier_;
  double jitter_;
  Random random_;
  int attempt_ = 0;
};

// A random source for production use: a per-thread engine, shared by all its users on a thread.
Backoff::Random default_random();

}  // namespace registrar::runtime
