// The backend kit's connectivity report: whether the registry answers, told once per change. A
// change logs one "unreachable (why)" or "reachable" line, updates RegistryState's connectivity
// and last_error, and calls the state callback; a new cause of the same outage is worth one more
// line ("still unreachable, now: ..."), a cause already told in this outage is not.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "registry/registry.hpp"

namespace registrar::registry::common {

class ConnectivityLog {
 public:
  struct Words {
    // The subject of "<subject> unreachable (why)": "etcd", "Consul agent at 127.0.0.1:8500".
    std::function<std::string()> unreachable;
    // The whole line once it answers again: "etcd reachable via 127.0.0.1:2379".
    std::function<std::string()> reachable;
  };
  // Runs on a change, after its log line and before the state callback (`recovered`: up again
  // after being down), so that the backend can update what the change implies.
  using OnChange = std::function<void(bool recovered)>;

  // `state` and `on_state` are the backend's own members: this writes the one and calls the
  // other, so both must outlive it.
  ConnectivityLog(RegistryState& state, const Registry::StateCallback& on_state, Words words,
                  OnChange on_change = {})
      : state_(&state),
        on_state_(&on_state),
        words_(std::move(words)),
        on_change_(std::move(on_change)) {}

  // The registry is `c` now. `error` becomes RegistryState::last_error (when up: the problem
  // that stands while it answers, if any). `cause`, while down: the transport's own error text,
  // which tells apart the outage's successive causes. `condition`, while down: what the log line
  // calls it ("unreachable"; a registry that answers with server errors is not unreachable, and
  // may say so: "answering with server errors"). Returns true on a change.
  bool set(Connectivity c, const std::string& error, const std::string& cause = "",
           const std::string& condition = "unreachable");

  Connectivity current() const { return state_->connectivity; }

  // Causes of one outage told at most (the rest are not worth a line each).
  static constexpr std::size_t kMaxCauses = 8;

 private:
  RegistryState* state_;
  const Registry::StateCallback* on_state_;
  Words words_;
  OnChange on_change_;
  std::vector<std::string> causes_;  // of the current outage, already told
};

}  // namespace registrar::registry::common
