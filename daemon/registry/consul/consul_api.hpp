// Consul's agent HTTP API as the backend uses it: request targets and bodies, and the parsing
// of answers. Pure: no I/O, no clock. Field names and status codes follow Consul's API
// documentation (agent/service, agent/check).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/consul_limits.hpp"
#include "config/manifest.hpp"
#include "registry/registration.hpp"

namespace registrar::registry::consul {

// Service Meta that marks what this daemon registered. A service is ours when both match.
// Defined in config/consul_limits.hpp, where the manifest's checks reserve the same keys.
inline constexpr const char* kManagedByKey = config::kConsulManagedByKey;
inline constexpr const char* kManagedByValue = config::kConsulManagedByValue;
inline constexpr const char* kOwnerKey = config::kConsulOwnerKey;

// Consul keeps at most this many bytes of a check's Output (CheckBufSize in Consul's source).
inline constexpr std::size_t kMaxOutput = 4096;

struct CheckSettings {
  std::chrono::milliseconds ttl{10000};
  std::chrono::milliseconds deregister_critical_after{60000};
};

// How often the TTL is refreshed: a third of it, so that one lost refresh does not expire it.
std::chrono::milliseconds refresh_interval(std::chrono::milliseconds ttl);

// "grpc-registrar:<service id>": the id of the one TTL check of each service.
std::string check_id(const std::string& service_id);
// The check's Notes: what updates it and how, for an operator (also shows the TTL settings, so
// that a registration left by an earlier run with other settings is recognised as different).
std::string check_notes(const CheckSettings& check);
inline constexpr const char* kCheckName = "gRPC health (grpc-registrar)";

// A duration as Go's time.ParseDuration reads it: "10s", "1m", "1500ms", "2h".
std::string go_duration(std::chrono::milliseconds d);

// Percent-encodes everything but RFC 3986 unreserved characters, ':' and '@'.
std::string escape_path_segment(std::string_view s);

// Request targets.
std::string register_target();  // PUT, replaces checks the body does not name
std::string update_target(const std::string& service_id);      // PUT, TTL check update
std::string deregister_target(const std::string& service_id);  // PUT
std::string service_target(const std::string& service_id);     // GET one local service
inline constexpr const char* kServicesTarget = "/v1/agent/services";
inline constexpr const char* kChecksTarget = "/v1/agent/checks";

// The PUT /v1/agent/service/register body: ID, Name, Tags, Address, Port, Meta (the manifest's
// plus managed-by and grpc-registrar-owner), Weights when set, and one TTL Check (CheckID, Name,
// Notes, TTL, DeregisterCriticalServiceAfter, Status = reg.health).
std::string register_body(const Registration& reg,
                          const std::optional<config::ConsulWeights>& weights,
                          const std::string& owner, const CheckSettings& check);
// The PUT /v1/agent/check/update/<id> body: {"Status": ..., "Output": ...}; Output cut to
// kMaxOutput bytes on a UTF-8 boundary.
std::string update_body(Health health, const std::string& output);

// A service as the agent reports it (GET /v1/agent/service/<id>, /v1/agent/services).
struct AgentService {
  std::string id;
  std::string name;  // "Service" in answers
  std::vector<std::string> tags;
  std::string address;
  int port = 0;
  std::map<std::string, std::string> meta;
  std::optional<config::ConsulWeights> weights;
};

// A check as GET /v1/agent/checks reports it.
struct AgentCheck {
  std::string id;
  std::string service_id;
  std::string status;
  std::string output;
  std::string notes;
};

// What the agent should report for `reg` once registered as above.
AgentService expected_service(const Registration& reg,
                              const std::optional<config::ConsulWeights>& weights,
                              const std::string& owner);
// Equal as far as a registration goes (null and empty lists/maps are the same; Weights left out
// are Consul's default {Passing: 1, Warning: 1}).
bool same_service(const AgentService& got, const AgentService& want);
bool owned_by(const AgentService& s, const std::string& owner);

// Parsers; on malformed JSON return nullopt and set `why`.
std::optional<AgentService> parse_service(std::string_view json, std::string& why);
std::optional<std::map<std::string, AgentService>> parse_services(std::string_view json,
                                                                  std::string& why);
std::optional<std::map<std::string, AgentCheck>> parse_checks(std::string_view json,
                                                              std::string& why);
std::optional<Health> parse_health(std::string_view status);

// The agent no longer knows the check: 404 ("Unknown check ID ..." on current agents) or 500
// "CheckID ... does not have associated TTL" (older agents).
bool check_unknown(int status, std::string_view body);

// "403 Permission denied": the status and the first line of the body, control characters
// escaped, at most 200 bytes of body.
std::string describe_answer(int status, std::string_view body);

}  // namespace registrar::registry::consul
