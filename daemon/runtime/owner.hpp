// The default identity of one daemon, for ownership records in a registry.
#pragma once

#include <string>

namespace registrar::runtime {

// "<hostname>:<absolute manifest path>": distinct for two daemons on one host (different
// manifests) and for daemons on different hosts, and stable across restarts of one daemon.
std::string default_owner(const std::string& manifest_path);

}  // namespace registrar::runtime
