// The effective configuration: derived defaults, and the YAML rendering printed by
// `grpc-registrar check`.
#pragma once

#include <cstdint>
#include <string>

#include "config/manifest.hpp"

namespace registrar::config {

// "<name>-<address>-<port>" with every character outside [A-Za-z0-9_.-] replaced by '-',
// e.g. ("hello", "::1", 50051) -> "hello---1-50051".
std::string default_service_id(const std::string& name, const std::string& address,
                               std::uint16_t port);

// "<address>:<port>", or "[<address>]:<port>" for an IPv6 address.
std::string default_probe_target(const std::string& address, std::uint16_t port);

// YAML text of `m` with every default written out, in manifest syntax: parse_manifest() of the
// result gives back the same registry, defaults, services, drain and shutdown_timeout.
// Credentials (registry.consul.token) are printed as "<redacted>", never in clear.
std::string render_effective(const Manifest& m);

// What render_effective prints in place of a secret value.
inline constexpr const char* kRedacted = "<redacted>";

}  // namespace registrar::config
