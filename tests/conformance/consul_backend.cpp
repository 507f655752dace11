#include "conformance/consul_backend.hpp"

#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "conformance/instancer_read.hpp"
#include "support/paths.hpp"
#include "support/require.hpp"

namespace registrar::conformance {

namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kConsulOwner = "conformance-consul";
constexpr const char* kCheckPrefix = "grpc-registrar:";  // docs/consul.md: the check of a service

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// The id a request writes, or "" for a request that writes nothing (a read); `status` is set to
// the check status it carries, if any.
std::string written_id(const json& request, std::string& status) {
  status.clear();
  if (request.at("method") != "PUT") return "";
  const std::string path = request.at("path").get<std::string>();
  const std::string body = request.value("body", std::string());
  if (path == "/v1/agent/service/register") {
    const auto b = json::parse(body);
    if (b.contains("Check") && b.at("Check").contains("Status"))
      status = b.at("Check").at("Status").get<std::string>();
    return b.at("ID").get<std::string>();
  }
  const std::string dereg = "/v1/agent/service/deregister/";
  if (starts_with(path, dereg)) return path.substr(dereg.size());
  const std::string update = std::string("/v1/agent/check/update/") + kCheckPrefix;
  if (starts_with(path, update)) {
    status = json::parse(body).at("Status").get<std::string>();
    return path.substr(update.size());
  }
  return "";
}

}  // namespace

bool ConsulBackend::available() {
  return test::need(test::consul_double_bin().has_value(),
                    "consul-double not found (target consul_double, built with go, or "
                    "$REGISTRAR_TEST_CONSUL_DOUBLE_BIN)");
}

config::RegistrySpec ConsulBackend::spec() const {
  config::RegistrySpec spec;
  spec.kind = config::RegistryKind::Consul;
  spec.consul.address = consul_.host_port();
  spec.consul.owner = kConsulOwner;
  // 3 s: refreshed every second, so one slow refresh on a loaded machine does not let the check
  // expire (which would be a change the write counts would see).
  spec.consul.check_ttl = 3s;
  spec.consul.request_timeout = 1s;     // at most check_ttl / 2
  spec.consul.reconcile_interval = 1s;  // the shortest a manifest allows
  spec.backoff.initial = 50ms;
  spec.backoff.max = 400ms;
  return spec;
}

std::optional<View> ConsulBackend::read() {
  try {
    View view;
    std::set<std::string> names;
    const json services = consul_.agent_services();  // named: items() refers into it
    for (const auto& [id, s] : services.items()) {
      Seen seen;
      seen.name = s.at("Service").get<std::string>();
      seen.address = s.at("Address").get<std::string>();
      seen.port = s.at("Port").get<std::uint16_t>();
      if (s.at("Tags").is_array()) seen.tags = s.at("Tags").get<std::vector<std::string>>();
      if (s.at("Meta").is_object())
        seen.meta = s.at("Meta").get<std::map<std::string, std::string>>();
      seen.meta.erase("managed-by");  // the daemon's ownership marks (docs/consul.md, Ownership)
      seen.meta.erase("grpc-registrar-owner");
      names.insert(seen.name);
      view.emplace(id, std::move(seen));
    }
    // Healthy is what a client sees as passing: the product's own reader (discovery/), i.e.
    // GET /v1/health/service/<name>?passing, the endpoint go-kit's Instancer reads. Each
    // instance it lists must be the agent's service as registered.
    for (const auto& name : names) {
      const auto passing = instancer_read(spec(), name, /*healthy_only=*/true);
      if (!passing) return std::nullopt;
      for (const auto& [id, instance] : *passing) {
        const auto it = view.find(id);
        if (it == view.end()) return std::nullopt;
        Seen seen = seen_of(instance);
        seen.meta.erase("managed-by");
        seen.meta.erase("grpc-registrar-owner");
        if (seen != Seen{it->second.name, it->second.address, it->second.port, it->second.tags,
                         it->second.meta, true})
          return std::nullopt;
        it->second.healthy = true;
      }
    }
    return view;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

Mark ConsulBackend::mark() {
  Mark m;
  for (const auto& r : consul_.requests(0))
    m.position = std::max(m.position, r.at("seq").get<std::uint64_t>());
  const json checks = consul_.agent_checks();  // named: items() refers into it
  for (const auto& [check_id, c] : checks.items())
    if (starts_with(check_id, kCheckPrefix))
      m.versions[check_id.substr(std::string(kCheckPrefix).size())] =
          c.at("Status").get<std::string>();
  return m;
}

Writes ConsulBackend::writes_since(const Mark& mark) {
  Writes w;
  std::map<std::string, std::string> status = mark.versions;  // each check's status as it goes
  for (const auto& r : consul_.requests(mark.position)) {
    const auto& h = r.at("headers");
    if (!h.contains("User-Agent") || h.at("User-Agent") != "grpc-registrar") continue;
    std::string carried;
    const std::string id = written_id(r, carried);
    if (id.empty()) continue;
    const bool is_update = starts_with(r.at("path").get<std::string>(), "/v1/agent/check/update/");
    // A check update that repeats the status is a TTL refresh: a keepalive, not a write.
    if (is_update && status[id] == carried) continue;
    if (!carried.empty()) status[id] = carried;
    ++w.per_entry[id];
    ++w.total;
  }
  return w;
}

bool ConsulBackend::nothing_left() {
  return consul_.agent_services().empty() && consul_.agent_checks().empty();
}

void ConsulBackend::remove_from_outside(const registry::Registration& r) {
  const auto answer = consul_.http().put("/v1/agent/service/deregister/" + r.id);
  if (answer.status != 200)
    throw std::runtime_error("deregister " + r.id + ": " + std::to_string(answer.status) + " " +
                             answer.body);
}

void ConsulBackend::lose_state() {
  consul_.restart_wiping_state();
}

void ConsulBackend::take_down() {
  consul_.kill();
}

Millis ConsulBackend::check_refresh() const {
  return spec().consul.check_ttl / 3;
}

Millis ConsulBackend::backoff_step() const {
  const auto s = spec();
  return Millis(static_cast<long>(s.backoff.max.count() * (1 + s.backoff.jitter)));
}

Millis ConsulBackend::state_loss_bound() const {
  // docs/consul.md: the agent lost the check -> registered again within check_ttl / 3 plus one
  // backoff step.
  return check_refresh() + backoff_step() + kLoadSlack;
}

Millis ConsulBackend::outside_removal_bound() const {
  // A deregistered service loses its check too: the next refresh finds it unknown (as above),
  // or the next reconcile_interval read finds the service missing, whichever comes first.
  return std::min(check_refresh() + backoff_step(), spec().consul.reconcile_interval) + kLoadSlack;
}

Millis ConsulBackend::quiet_period() const {
  return 2 * std::max(spec().consul.reconcile_interval, check_refresh());
}

}  // namespace registrar::conformance
