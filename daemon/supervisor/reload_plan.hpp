// What a manifest reload changes, service by service. Pure: no I/O, no time.
#pragma once

#include <string>
#include <vector>

#include "config/manifest.hpp"

namespace registrar::supervisor {

struct ReloadPlan {
  // Non-empty when the registry section differs: those settings (kind, endpoints, prefix,
  // format, lease, owner, backoff...) are fixed for the life of the process, so the reload is
  // refused as a whole. One line, e.g.
  // `registry section changed: "endpoints: [b:1]" instead of "endpoints: [a:1]"`.
  std::string registry_change;
  std::vector<std::string> added;      // ids only in the new manifest
  std::vector<std::string> removed;    // ids only in the old one
  std::vector<std::string> reprobed;   // probe settings changed: a new prober
  std::vector<std::string> rewritten;  // changed, probe settings unchanged (entry, thresholds)
  std::vector<std::string> unchanged;  // equal in every setting: not touched at all

  bool changes_services() const {
    return !added.empty() || !removed.empty() || !reprobed.empty() || !rewritten.empty();
  }
};

// The probe settings that need a new prober when they change (rise and fall do not).
bool same_probe_target(const config::ProbeSpec& a, const config::ProbeSpec& b);

ReloadPlan plan_reload(const config::Manifest& current, const config::Manifest& next);

}  // namespace registrar::supervisor
