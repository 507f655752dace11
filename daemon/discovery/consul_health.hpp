// How the Consul reader asks the agent and reads its answers: GET /v1/health/service/<name>
// (Consul's "List Service Instances"), the blocking-query index rules, the answer as instances.
// Pure, so that the rules and the parsing are unit-tested.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "discovery/instance.hpp"

namespace registrar::discovery::consul {

// "/v1/health/service/<name>?passing&tag=<t>..." (passing when query.healthy_only; one tag
// parameter per tag, which Consul requires all of), then "&index=<index>&wait=<s>s" when
// `index` > 0: a blocking query that answers once the result's index passes `index`, or after
// `wait`.
std::string health_target(const Query& query, std::uint64_t index, std::chrono::seconds wait);

// The index of the next blocking query, from the one sent and the X-Consul-Index of the answer,
// by the rules of Consul's blocking-query documentation (go-kit's Instancer keeps them too):
// an index that went backwards (a restarted agent, a snapshot restore) resets to 0, i.e. one
// plain read that starts over; an index of 0 (or none) becomes 1, since waiting on 0 returns at
// once and would spin.
std::uint64_t next_index(std::uint64_t sent, std::string_view header);

// The answer's body as instances: ID, Service (the name), Tags, Meta, Port and Address (the
// node's address when the service has none); the health is the worst status of its checks
// (node checks included: "critical" > "warning" > "passing", a maintenance check is critical).
// nullopt with `why` set on an answer that is not such a list.
std::optional<InstanceSet> parse_health_service(std::string_view body, std::string& why);

}  // namespace registrar::discovery::consul
