// How the Nacos reader asks the naming server and reads its answer: GET
// /nacos/v1/ns/instance/list (the v1 Open API's "query instances", what Nacos's own clients poll),
// the answer's hosts as instances. Pure, so that hostile answers are unit-tested and fuzzed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/manifest.hpp"
#include "discovery/instance.hpp"
#include "registry/http/transport.hpp"

namespace registrar::discovery::nacos {

// The metadata key grpc-spring clients read the gRPC port from (the backend writes it).
inline constexpr const char* kGrpcPortKey = "gRPC_port";

// GET /nacos/v1/ns/instance/list?serviceName=..&groupName=..&namespaceId=..&healthyOnly=..
// (every cluster), with accessToken when `token` is not empty.
registry::http::HttpRequest list_request(const config::NacosSpec& spec, const Query& query,
                                         const std::string& token);

// {"name":"GROUP@@svc","hosts":[{instanceId, ip, port, healthy, enabled, metadata, ...}]} as
// instances: id instanceId (else "ip#port#cluster#service", Nacos's own), address ip, port the
// metadata's gRPC_port when it is a valid port, else port; health passing when healthy, else
// critical; disabled instances left out (Nacos's clients never route to them); meta the
// metadata's string values; no tags (Nacos has none). nullopt with `why` set on an answer that
// is not such an object, or a host without an ip or a valid port.
std::optional<InstanceSet> parse_instance_list(std::string_view body, std::string& why);

}  // namespace registrar::discovery::nacos
