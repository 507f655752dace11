// What a registry backend reports about its own traffic, for metrics. Backends hold a
// RegistryObserver& and call it on the daemon's io_context thread; the default does nothing, so
// a backend (or a test) that is given no observer needs no special case.
#pragma once

#include <chrono>
#include <string_view>

namespace registrar::metrics {

class RegistryObserver {
 public:
  virtual ~RegistryObserver() = default;

  // One request to the registry finished. `kind` names the operation in a small fixed set per
  // backend (etcd: "grant", "txn", "time_to_live", "revoke", "keepalive_stream"; consul:
  // "services_list", "checks_list", "register", "check_update", "service_get", "deregister"); it
  // becomes a metric label, so it must never carry ids, keys or error text. `ok` is false for
  // transport errors and refusals alike.
  virtual void request(std::string_view kind, bool ok, std::chrono::nanoseconds latency) {
    (void)kind;
    (void)ok;
    (void)latency;
  }

  // The registry lost our lease (etcd) or our registrations (consul: agent state wiped) and a new
  // one was granted or everything was registered again.
  virtual void lease_regrant() {}

  // Round trip of one keepalive (etcd: LeaseKeepAlive request to its answer; consul: one TTL
  // check update).
  virtual void keepalive_latency(std::chrono::nanoseconds latency) { (void)latency; }
};

// A shared observer that does nothing: the default for backends constructed without one.
inline RegistryObserver& null_registry_observer() {
  static RegistryObserver none;
  return none;
}

}  // namespace registrar::metrics
