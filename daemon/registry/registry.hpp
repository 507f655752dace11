// The interface every registry backend implements. All methods are called on the daemon's
// io_context thread, and every callback a backend makes is delivered there too.
#pragma once

#include <chrono>
#include <functional>
#include <set>
#include <string>

#include "registry/registration.hpp"

namespace registrar::registry {

enum class Connectivity { Connecting, Up, Down };

struct RegistryState {
  Connectivity connectivity = Connectivity::Connecting;
  bool in_sync = false;                  // the registry holds exactly the last applied desired set
  std::size_t registered = 0;            // entries the backend believes are in the registry
  std::set<std::string> registered_ids;  // their Registration::ids (for status pages)
  std::string last_error;                // empty when healthy; never contains secrets
  // Ids that a previous run of this daemon (same registry.instance) left registered as passing
  // and that the backend keeps for now: the supervisor starts those services healthy, so that a
  // daemon restart causes no gap, and their probes decide from there. Backends without
  // ownership records leave it empty.
  std::set<std::string> inherited_ids;
};

class Registry {
 public:
  using StateCallback = std::function<void(const RegistryState&)>;
  using DoneCallback = std::function<void(bool clean)>;

  virtual ~Registry() = default;

  // Begins connecting. Never blocks; failures are retried with backoff forever.
  virtual void start(StateCallback on_state_change) = 0;

  // Converge the registry toward `desired`: write only the difference, never rewrite an
  // unchanged entry, and re-apply everything after any loss of registry state.
  virtual void apply(const DesiredSet& desired) = 0;

  // Remove every entry this daemon owns and release registry resources, then call `done`
  // (clean = everything confirmed removed). Gives up after `timeout`. Called at most once;
  // apply() is ignored afterwards.
  virtual void shutdown(std::chrono::milliseconds timeout, DoneCallback done) = 0;

  virtual RegistryState state() const = 0;
};

}  // namespace registrar::registry
