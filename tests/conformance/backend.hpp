// What the conformance suite needs of one registry backend: the registry section a manifest would
// give it (short intervals, a real server), a reader of the registry's contents as a client sees
// them, a write counter kept by the registry itself, the faults to inject, and the bounds that
// the backend's documentation derives from those settings. One subclass per backend
// (etcd_backend.*, consul_backend.*); the cases (cases.*) know only this interface.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/manifest.hpp"
#include "registry/registration.hpp"

namespace registrar::conformance {

using Millis = std::chrono::milliseconds;

// One instance as a client of the registry sees it.
struct Seen {
  std::string name;
  std::string address;
  std::uint16_t port = 0;
  std::vector<std::string> tags;
  std::map<std::string, std::string> meta;  // without the backend's own bookkeeping keys
  bool healthy = false;                     // what a client takes as routable

  friend bool operator==(const Seen&, const Seen&) = default;
};

// Keyed by instance id.
using View = std::map<std::string, Seen>;

// A point in the registry's write history: `position` (etcd: the store's revision; Consul: the
// double's request log sequence) and each entry's version there (etcd: mod_revision; Consul:
// its check's status).
struct Mark {
  std::uint64_t position = 0;
  std::map<std::string, std::string> versions;
};

// Writes the registry received since a Mark, as the registry counts them: in all (etcd: new
// revisions; Consul: registrations, deregistrations and check updates that change a status, TTL
// refreshes being the equivalent of etcd's lease keepalives), and per entry id.
struct Writes {
  std::size_t total = 0;
  std::map<std::string, std::size_t> per_entry;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // The registry section, pointing at this backend's server, with the suite's short settings.
  virtual config::RegistrySpec spec() const = 0;
  // Whether the registry lists unhealthy instances too (Consul: with a critical check), or only
  // healthy ones (etcd: an unhealthy instance has no key).
  virtual bool lists_unhealthy() const = 0;
  // Whether the registry keeps an instance's tags (Eureka's InstanceInfo has no place for them).
  virtual bool keeps_tags() const { return true; }

  // --- reader: nullopt (or throws) while the server does not answer ---
  virtual std::optional<View> read() = 0;
  virtual Mark mark() = 0;
  virtual Writes writes_since(const Mark& mark) = 0;
  // Nothing of ours is left: no entry, and none of the backend's bookkeeping (etcd: ownership
  // record, lease; Consul: services and checks).
  virtual bool nothing_left() = 0;

  // --- faults; each returns once the server answers again (or is down, for take_down) ---
  virtual void remove_from_outside(const registry::Registration& r) = 0;
  virtual void lose_state() = 0;  // etcd: killed, data dir wiped, restarted; Consul: state wiped
  virtual void take_down() = 0;   // the server stops answering for good

  // --- bounds, from spec() and the backend's documentation ---
  // After lose_state() returns, the registry holds the desired set again within this.
  virtual Millis state_loss_bound() const = 0;
  // After remove_from_outside(), the entry is back within this.
  virtual Millis outside_removal_bound() const = 0;
  // Long enough for every periodic pass (resync, reconcile, TTL refresh) to run at least twice:
  // a write that should not happen would have happened.
  virtual Millis quiet_period() const = 0;
};

// Scheduling slack added to every bound: the documented bounds count round trips of about a
// millisecond, which take hundreds on a loaded 2-core machine running a sanitizer build.
inline constexpr Millis kLoadSlack{3000};

}  // namespace registrar::conformance
