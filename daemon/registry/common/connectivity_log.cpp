#include "registry/common/connectivity_log.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace registrar::registry::common {

bool ConnectivityLog::set(Connectivity c, const std::string& error, const std::string& cause,
                          const std::string& condition) {
  const bool changed = c != state_->connectivity;
  const bool recovered = changed && state_->connectivity == Connectivity::Down;
  state_->connectivity = c;
  state_->last_error = error;
  if (c != Connectivity::Down) causes_.clear();
  if (!changed) {
    // Still down, for a reason not told yet in this outage (refused, then a TLS handshake
    // failure, say): news worth one line. A cause seen before is not, so that a registry failing
    // two ways by turns does not log every retry; the list is bounded.
    if (c == Connectivity::Down && !cause.empty() && causes_.size() < kMaxCauses &&
        std::find(causes_.begin(), causes_.end(), cause) == causes_.end()) {
      causes_.push_back(cause);
      spdlog::warn("registry: {} still {}, now: {}; retrying with backoff", words_.unreachable(),
                   condition, error);
    }
    return false;
  }
  if (c == Connectivity::Down && !cause.empty()) causes_.assign(1, cause);
  if (c == Connectivity::Down)
    spdlog::warn("registry: {} {} ({}); retrying with backoff", words_.unreachable(), condition,
                 error);
  else if (c == Connectivity::Up)
    spdlog::info("registry: {}", words_.reachable());
  if (on_change_) on_change_(recovered);
  if (*on_state_) (*on_state_)(*state_);
  return true;
}

}  // namespace registrar::registry::common
