// The Registry contract, written once: each case drives one backend through the Registry
// interface (RegistryHarness) and checks it through the backend's reader (Backend). A backend
// joins the suite with REGISTRAR_CONFORMANCE_SUITE (suite.hpp), which makes one TEST_CASE per
// case below.
#pragma once

#include "conformance/backend.hpp"

namespace registrar::conformance {

// apply(desired) -> the registry holds exactly it (and the backend reports in_sync).
void apply_holds_exactly_the_desired_set(Backend& backend);
// Applying the same set again writes nothing; adding an entry writes that entry only.
void unchanged_entry_is_never_written_again(Backend& backend);
// One entry turning unhealthy is one write, to that entry.
void health_change_writes_one_difference(Backend& backend);
// Registry state lost -> everything back within the backend's documented bound.
void lost_state_is_restored_within_bound(Backend& backend);
// An entry removed behind the backend's back -> back within the resync/reconcile bound.
void entry_removed_from_outside_is_restored(Backend& backend);
// shutdown -> nothing of ours left, done(clean = true), within its timeout.
void shutdown_leaves_nothing(Backend& backend);
// shutdown with the registry down -> done(clean = false) by its timeout.
void shutdown_with_registry_down_returns_by_timeout(Backend& backend);
// apply() after shutdown is ignored: nothing written.
void apply_after_shutdown_is_ignored(Backend& backend);

}  // namespace registrar::conformance
