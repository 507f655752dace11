// The conformance readers' view through the product's own read side (daemon/discovery/): one
// Instancer::list() of a name, as `grpc-registrar resolve` and every client of the registry see
// it.
#pragma once

#include <optional>
#include <string>

#include "config/manifest.hpp"
#include "conformance/backend.hpp"
#include "discovery/instance.hpp"

namespace registrar::conformance {

// The instances of `name` in the registry of `spec`, or nullopt when the registry does not
// answer within its request timeout.
std::optional<discovery::InstanceSet> instancer_read(const config::RegistrySpec& spec,
                                                     const std::string& name, bool healthy_only);

// An instance as the suite's View holds it (healthy: passing).
Seen seen_of(const discovery::Instance& instance);

}  // namespace registrar::conformance
