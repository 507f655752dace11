// Helpers for the Nacos end-to-end tests: manifests for the Nacos backend (the same services as
// the etcd and Consul manifests), and reads of the Nacos double's instance list as a client sees
// it. Every bound is derived from the double's time scale: beats every 5 s x scale, unhealthy
// after 15 s x scale without one, removed after 30 s x scale, checked every 5 s x scale.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "itest.hpp"
#include "support/nacos_double.hpp"

namespace registrar::itest {

struct NacosParams {
  std::vector<std::string> servers;
  std::string namespace_id = "public";
  std::string username;  // with password_file, when set
  std::string password_file;
  std::string request_timeout = "500ms";
  std::string backoff_initial = "50ms";
  std::string backoff_max = "400ms";
  std::string probe_interval = "100ms";
  std::string shutdown_timeout = "3s";
  std::vector<ServiceEntry> services;
};

std::string nacos_manifest_yaml(const NacosParams& p);

// The hosts a client asking GET /nacos/v1/ns/instance/list sees (nullopt while it cannot read).
std::optional<nlohmann::json> try_hosts(test::NacosDouble& nacos, const std::string& service,
                                        bool healthy_only);
// Polls until the list (healthyOnly as given) holds exactly `ports` (sorted); the time it took.
std::optional<Millis> wait_for_ports(test::NacosDouble& nacos, const std::string& service,
                                     std::vector<int> ports, bool healthy_only,
                                     std::chrono::steady_clock::time_point since,
                                     Millis timeout = 10s);

// Whether the Nacos double and the binaries are built (support/require.hpp under CI=true).
bool have_nacos_double();

}  // namespace registrar::itest
