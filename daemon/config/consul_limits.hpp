// What Consul accepts in a service registration, and the service Meta keys grpc-registrar
// reserves there: defined once for the manifest's checks (config/) and the Consul backend
// (registry/consul/), so that a manifest Consul would refuse fails at start, with a position,
// and the two can never disagree about which keys are grpc-registrar's own. Constants only, no
// dependencies: config/ must not depend on a backend, and the backend already depends on
// config/.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <string_view>

namespace registrar::config {

// Service Meta that marks what a daemon registered: a service is its own when both match
// (managed-by = grpc-registrar, grpc-registrar-owner = its owner). A manifest may not set them.
inline constexpr const char* kConsulManagedByKey = "managed-by";
inline constexpr const char* kConsulManagedByValue = "grpc-registrar";
inline constexpr const char* kConsulOwnerKey = "grpc-registrar-owner";
inline constexpr std::array<std::string_view, 2> kConsulReservedMetaKeys{kConsulManagedByKey,
                                                                         kConsulOwnerKey};

// Consul's limits on service metadata (structs.ValidateServiceMetadata in Consul's source):
// keys of letters, digits, '-' and '_', not starting with the reserved prefix.
inline constexpr std::size_t kConsulMaxMetaPairs = 64;
inline constexpr std::size_t kConsulMetaKeyMaxLength = 128;
inline constexpr std::size_t kConsulMetaValueMaxLength = 512;
inline constexpr std::string_view kConsulReservedMetaPrefix = "consul-";
// What a manifest's meta may hold: the rest are grpc-registrar's own.
inline constexpr std::size_t kConsulMaxManifestMetaPairs =
    kConsulMaxMetaPairs - kConsulReservedMetaKeys.size();

// Consul raises a check's DeregisterCriticalServiceAfter below this to it.
inline constexpr std::chrono::minutes kConsulMinDeregisterCriticalAfter{1};

}  // namespace registrar::config
