// Helpers for the Consul end-to-end tests: manifests for the Consul backend (the same services
// as the etcd manifests, so that only registry.kind needs to change), reads of the agent double,
// and filters over its request log.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "itest.hpp"
#include "support/consul_double.hpp"
#include "support/paths.hpp"

namespace registrar::itest {

struct ConsulParams {
  std::string kind = "consul";         // registry.kind; the etcd section is written too when
  std::vector<std::string> endpoints;  // endpoints is not empty
  std::string address;                 // registry.consul.address
  std::string token_file;              // omitted when empty
  std::string owner = "itest";
  std::string check_ttl = "1s";
  std::string deregister_critical_after = "1m";
  std::string reconcile_interval = "1s";
  std::string request_timeout = "500ms";  // the most a 1 s check_ttl allows
  std::string backoff_initial = "50ms";
  std::string backoff_max = "400ms";
  std::string probe_interval = "100ms";
  std::string probe_timeout = "1s";  // fall 1: generous, for sanitizer builds under load
  std::string shutdown_timeout = "5s";
  std::vector<ServiceEntry> services;
};

// The manifest as block-style YAML, strings double-quoted.
std::string consul_manifest_yaml(const ConsulParams& p);

// "grpc-registrar:<id>"
std::string consul_check_id(const std::string& service_id);

// The check as GET /v1/agent/checks shows it, or nullopt (also while the double is faulted).
std::optional<nlohmann::json> try_check(test::ConsulDouble& consul, const std::string& check_id);
std::optional<nlohmann::json> try_services(test::ConsulDouble& consul);

// Polls until the check has `status` (and, when given, an Output containing `output`). Returns
// the elapsed time since `since`, or nullopt at the deadline.
std::optional<Millis> wait_for_check(test::ConsulDouble& consul, const std::string& check_id,
                                     const std::string& status,
                                     std::chrono::steady_clock::time_point since,
                                     Millis timeout = 10s, const std::string& output = "");

// Polls until exactly `ids` (sorted) are the agent's services.
bool wait_for_services(test::ConsulDouble& consul, std::vector<std::string> ids,
                       Millis timeout = 10s);

// The double's request log, only what the daemon sent (User-Agent grpc-registrar): the test's
// own reads are left out.
nlohmann::json daemon_requests(test::ConsulDouble& consul, std::uint64_t since = 0);
// Those whose method and path (prefix) match.
std::vector<nlohmann::json> requests_to(const nlohmann::json& log, const std::string& method,
                                        const std::string& path_prefix);

// True when no line of `text` contains `secret`.
bool never_mentions(const std::string& text, const std::string& secret);

// Whether the Consul double and the binaries the tests run are built; when not, the test FAILs
// under CI=true and elsewhere WARNs and returns without running (support/require.hpp).
bool have_consul_double();

// A double whose deregister-critical-after and reaper run `scale` times as long as Consul's.
test::ConsulDoubleOptions time_scaled(double scale);

// The go-kit Consul client (tests/interop/gokit-consul-client), or nullopt when not built.
std::optional<std::string> gokit_consul_client_bin();

}  // namespace registrar::itest
