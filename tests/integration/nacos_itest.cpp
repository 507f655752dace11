#include "nacos_itest.hpp"

#include <algorithm>
#include <thread>

#include "support/paths.hpp"
#include "support/require.hpp"

namespace registrar::itest {

namespace {

std::string quote(const std::string& s) {
  return nlohmann::json(s).dump();
}

}  // namespace

std::string nacos_manifest_yaml(const NacosParams& p) {
  std::string y = "registry:\n  kind: nacos\n  nacos:\n    servers:\n";
  for (const auto& s : p.servers) y += "      - " + quote(s) + "\n";
  y += "    namespace: " + quote(p.namespace_id) + "\n";
  y += "    request_timeout: " + p.request_timeout + "\n";
  if (!p.username.empty()) {
    y += "    username: " + quote(p.username) + "\n";
    y += "    password_file: " + quote(p.password_file) + "\n";
  }
  y += "  backoff: {initial: " + p.backoff_initial + ", max: " + p.backoff_max + "}\n";
  y += "defaults:\n";
  y +=
      "  probe: {mode: watch, interval: " + p.probe_interval + ", timeout: 1s, rise: 1, fall: 1}\n";
  y += "services:\n";
  if (p.services.empty()) y.replace(y.size() - 1, 1, " []\n");
  for (const auto& s : p.services) {
    y += "  - name: " + quote(s.name) + "\n";
    if (!s.id.empty()) y += "    id: " + quote(s.id) + "\n";
    y += "    address: " + quote(s.address) + "\n";
    y += "    port: " + std::to_string(s.port) + "\n";
    if (!s.meta.empty()) {
      y += "    meta:\n";
      for (const auto& [k, v] : s.meta) y += "      " + quote(k) + ": " + quote(v) + "\n";
    }
    y += "    probe:\n      service: " + quote(s.probe_service) + "\n";
  }
  y += "drain: 0s\nshutdown_timeout: " + p.shutdown_timeout + "\n";
  return y;
}

std::optional<nlohmann::json> try_hosts(test::NacosDouble& nacos, const std::string& service,
                                        bool healthy_only) {
  try {
    return nacos.hosts(service, healthy_only);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<Millis> wait_for_ports(test::NacosDouble& nacos, const std::string& service,
                                     std::vector<int> ports, bool healthy_only,
                                     std::chrono::steady_clock::time_point since, Millis timeout) {
  std::sort(ports.begin(), ports.end());
  const bool ok = test::wait_until(
      [&] {
        auto hosts = try_hosts(nacos, service, healthy_only);
        if (!hosts) return false;
        std::vector<int> seen;
        for (const auto& h : *hosts) seen.push_back(h.at("port").get<int>());
        std::sort(seen.begin(), seen.end());
        return seen == ports;
      },
      timeout);
  if (!ok) return std::nullopt;
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - since);
}

bool have_nacos_double() {
  return test::need(test::nacos_double_bin().has_value(),
                    "nacos-double not found (target nacos_double, built with go, or "
                    "$REGISTRAR_TEST_NACOS_DOUBLE_BIN)") &&
         have_binaries();
}

}  // namespace registrar::itest
