#include "probe/hysteresis.hpp"

#include <algorithm>

namespace registrar::probe {

Hysteresis::Hysteresis(int rise, int fall) : rise_(std::max(rise, 1)), fall_(std::max(fall, 1)) {}

Hysteresis::Change Hysteresis::observe(bool ok) {
  if (ok == healthy_) {  // confirms the current state
    streak_ = 0;
    return Change::None;
  }
  ++streak_;
  if (streak_ < (healthy_ ? fall_ : rise_)) return Change::None;
  streak_ = 0;
  healthy_ = ok;
  return ok ? Change::BecameHealthy : Change::BecameUnhealthy;
}

const char* to_string(Hysteresis::Change c) {
  switch (c) {
    case Hysteresis::Change::None:
      return "none";
    case Hysteresis::Change::BecameHealthy:
      return "became_healthy";
    case Hysteresis::Change::BecameUnhealthy:
      return "became_unhealthy";
  }
  return "invalid";
}

}  // namespace registrar::probe
