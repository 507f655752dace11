// Rise/fall thresholds over a stream of probe results. Pure logic, no time, no I/O.
#pragma once

namespace registrar::probe {

class Hysteresis {
 public:
  enum class Change { None, BecameHealthy, BecameUnhealthy };

  // Starts unhealthy. While unhealthy, `rise` consecutive ok results make it healthy; while
  // healthy, `fall` consecutive failures make it unhealthy. Values below 1 are treated as 1.
  Hysteresis(int rise, int fall);

  // Feeds one result and reports whether the state flipped because of it.
  Change observe(bool ok);

  bool healthy() const { return healthy_; }
  // Consecutive results counting towards the next flip (0 right after a flip, or after a
  // result that confirmed the current state).
  int streak() const { return streak_; }

  int rise() const { return rise_; }
  int fall() const { return fall_; }

 private:
  int rise_;
  int fall_;
  bool healthy_ = false;
  int streak_ = 0;
};

const char* to_string(Hysteresis::Change c);

}  // namespace registrar::probe
