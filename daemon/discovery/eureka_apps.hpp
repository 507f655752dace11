// How the Eureka reader reads an application: GET {url}/apps/{APP} (Accept: application/json),
// the answer as instances the way Eureka's own clients (and grpc-spring's discovery) see them.
// Pure, so that hostile answers are unit-tested and fuzzed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "discovery/instance.hpp"

namespace registrar::discovery::eureka {

// The metadata key grpc-spring clients read the gRPC port from (the backend writes it).
inline constexpr const char* kGrpcPortKey = "gRPC_port";

// {"application":{"name":"APP","instance":[...]}} (a single instance may come as an object, as
// Eureka's older codecs write it) as instances: id instanceId (else hostName), address ipAddr
// (else hostName), port the metadata's gRPC_port when it is a valid port, else port.$; health
// passing for status UP and critical for every other status (DOWN, STARTING, OUT_OF_SERVICE,
// UNKNOWN: Eureka's clients route to UP only); meta the metadata's string values; no tags (Eureka
// has none). nullopt with `why` set on an answer that is not such an object, or an instance
// without an id, an address or a valid port.
std::optional<InstanceSet> parse_application(std::string_view body, std::string& why);

}  // namespace registrar::discovery::eureka
