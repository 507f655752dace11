// The backend kit's account of what a backend publishes in its RegistryState: which entries the
// registry holds (`registered_ids`, with `registered` kept in step) and which still differ from
// what is desired. A backend records an entry's standing each time that entry changes, O(log N),
// so that publishing after a registry's answer costs O(1) instead of a walk over every entry (at
// N = 1000 such walks were a third of the daemon's CPU: docs/benchmarks.md, figure 8), and it
// calls its state callback only when something it publishes changed.
#pragma once

#include <set>
#include <string>

#include "registry/registry.hpp"

namespace registrar::registry::common {

class SyncBook {
 public:
  // `state` is the backend's own RegistryState, which it hands to its state callback.
  explicit SyncBook(RegistryState& state) : state_(state) {}
  SyncBook(const SyncBook&) = delete;
  SyncBook& operator=(const SyncBook&) = delete;

  // `id`'s entry changed: whether the registry holds it, and whether the registry is as desired
  // for it (nothing is left to send but routine renewals).
  void record(const std::string& id, bool registered, bool synced) {
    if (synced)
      unsynced_.erase(id);
    else
      unsynced_.insert(id);
    ids_changed_ |=
        registered ? state_.registered_ids.insert(id).second : state_.registered_ids.erase(id) > 0;
    state_.registered = state_.registered_ids.size();
  }
  // `id`'s entry is gone: neither registered nor waiting for anything.
  void forget(const std::string& id) { record(id, false, true); }
  // Every entry is as desired.
  bool all_synced() const { return unsynced_.empty(); }

  // Sets `in_sync`; true when it or the registered ids changed since the last publish, i.e. when
  // the backend must call its state callback.
  bool publish(bool in_sync) {
    const bool changed = ids_changed_ || in_sync != state_.in_sync;
    state_.in_sync = in_sync;
    ids_changed_ = false;
    return changed;
  }

  // At the end of a shutdown: the registered ids recounted from the entries themselves (a
  // shutdown's removals do not go through record()), and not in sync.
  template <typename Entries, typename IsRegistered>
  void recount(const Entries& entries, IsRegistered is_registered) {
    state_.registered_ids.clear();
    for (const auto& [id, e] : entries)
      if (is_registered(e)) state_.registered_ids.insert(id);
    state_.registered = state_.registered_ids.size();
    state_.in_sync = false;
    unsynced_.clear();
    ids_changed_ = false;
  }

 private:
  RegistryState& state_;
  std::set<std::string> unsynced_;
  bool ids_changed_ = false;  // registered_ids changed since the last publish
};

}  // namespace registrar::registry::common
