#include "consul_itest.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>

#include "support/require.hpp"

namespace registrar::itest {

namespace {

std::string quote(const std::string& s) {
  return nlohmann::json(s).dump();
}

}  // namespace

std::string consul_manifest_yaml(const ConsulParams& p) {
  std::string y;
  y += "registry:\n";
  y += "  kind: " + p.kind + "\n";
  if (!p.endpoints.empty()) {
    y += "  etcd:\n";
    y += "    endpoints:\n";
    for (const auto& e : p.endpoints) y += "      - " + quote(e) + "\n";
    y += "    lease_ttl: 2s\n";
    y += "    dial_timeout: 1s\n";
  }
  y += "  consul:\n";
  y += "    address: " + quote(p.address) + "\n";
  if (!p.token_file.empty()) y += "    token_file: " + quote(p.token_file) + "\n";
  y += "    owner: " + quote(p.owner) + "\n";
  y += "    check_ttl: " + p.check_ttl + "\n";
  y += "    deregister_critical_after: " + p.deregister_critical_after + "\n";
  y += "    reconcile_interval: " + p.reconcile_interval + "\n";
  y += "    request_timeout: " + p.request_timeout + "\n";
  y += "  backoff: {initial: " + p.backoff_initial + ", max: " + p.backoff_max + "}\n";
  y += "defaults:\n";
  // A liveness Check at every repeat, which the hung-service bounds of these tests assume.
  y += "  probe: {mode: watch, interval: " + p.probe_interval + ", timeout: " + p.probe_timeout +
       ", rise: 1, fall: 1, liveness_interval: " + p.probe_interval + "}\n";
  y += "services:\n";
  if (p.services.empty()) y.replace(y.size() - 1, 1, " []\n");
  for (const auto& s : p.services) {
    y += "  - name: " + quote(s.name) + "\n";
    if (!s.id.empty()) y += "    id: " + quote(s.id) + "\n";
    y += "    address: " + quote(s.address) + "\n";
    y += "    port: " + std::to_string(s.port) + "\n";
    if (!s.tags.empty()) {
      y += "    tags: [";
      for (std::size_t i = 0; i < s.tags.size(); ++i) y += (i ? ", " : "") + quote(s.tags[i]);
      y += "]\n";
    }
    if (!s.meta.empty()) {
      y += "    meta:\n";
      for (const auto& [k, v] : s.meta) y += "      " + quote(k) + ": " + quote(v) + "\n";
    }
    y += "    probe:\n";
    y += "      service: " + quote(s.probe_service) + "\n";
  }
  y += "drain: 0s\n";
  y += "shutdown_timeout: " + p.shutdown_timeout + "\n";
  return y;
}

std::string consul_check_id(const std::string& service_id) {
  return "grpc-registrar:" + service_id;
}

std::optional<nlohmann::json> try_check(test::ConsulDouble& consul, const std::string& check_id) {
  try {
    nlohmann::json checks = consul.agent_checks();
    if (!checks.contains(check_id)) return std::nullopt;
    return checks.at(check_id);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<nlohmann::json> try_services(test::ConsulDouble& consul) {
  try {
    return consul.agent_services();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<Millis> wait_for_check(test::ConsulDouble& consul, const std::string& check_id,
                                     const std::string& status,
                                     std::chrono::steady_clock::time_point since, Millis timeout,
                                     const std::string& output) {
  const bool ok = wait_until(
      [&] {
        auto c = try_check(consul, check_id);
        if (!c || c->value("Status", "") != status) return false;
        return output.empty() || c->value("Output", "").find(output) != std::string::npos;
      },
      timeout, 10ms);
  if (!ok) return std::nullopt;
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - since);
}

bool wait_for_services(test::ConsulDouble& consul, std::vector<std::string> ids, Millis timeout) {
  std::sort(ids.begin(), ids.end());
  return wait_until(
      [&] {
        auto services = try_services(consul);
        if (!services) return false;
        std::vector<std::string> got;
        for (const auto& [id, s] : services->items()) got.push_back(id);
        std::sort(got.begin(), got.end());
        return got == ids;
      },
      timeout, 20ms);
}

nlohmann::json daemon_requests(test::ConsulDouble& consul, std::uint64_t since) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : consul.requests(since)) {
    const auto& h = r.at("headers");
    if (h.contains("User-Agent") && h.at("User-Agent") == "grpc-registrar") out.push_back(r);
  }
  return out;
}

std::vector<nlohmann::json> requests_to(const nlohmann::json& log, const std::string& method,
                                        const std::string& path_prefix) {
  std::vector<nlohmann::json> out;
  for (const auto& r : log)
    if (r.at("method") == method && r.at("path").get<std::string>().rfind(path_prefix, 0) == 0)
      out.push_back(r);
  return out;
}

bool never_mentions(const std::string& text, const std::string& secret) {
  return text.find(secret) == std::string::npos;
}

std::optional<std::string> gokit_consul_client_bin() {
#ifdef REGISTRAR_GOKIT_CONSUL_CLIENT
  if (std::filesystem::exists(REGISTRAR_GOKIT_CONSUL_CLIENT)) return REGISTRAR_GOKIT_CONSUL_CLIENT;
#endif
  return std::nullopt;
}

bool have_consul_double() {
  return test::need(test::consul_double_bin().has_value(),
                    "consul-double not found (target consul_double, built with go, or "
                    "$REGISTRAR_TEST_CONSUL_DOUBLE_BIN)") &&
         have_binaries();
}

test::ConsulDoubleOptions time_scaled(double scale) {
  test::ConsulDoubleOptions o;
  o.time_scale = scale;
  return o;
}

}  // namespace registrar::itest
