#include "conformance/eureka_backend.hpp"

#include <nlohmann/json.hpp>

#include "support/paths.hpp"
#include "support/require.hpp"

namespace registrar::conformance {

namespace {

using namespace std::chrono_literals;
using nlohmann::json;

test::EurekaDoubleOptions options() {
  test::EurekaDoubleOptions o;
  o.cache_update_interval = "100ms";
  return o;
}

// Eureka answers one element as an object and several as an array in some codecs: both read.
std::vector<json> elements(const json& v) {
  if (v.is_array()) return v.get<std::vector<json>>();
  if (v.is_object()) return {v};
  return {};
}

// The instance id a request of the daemon writes, "" for a heartbeat or a read; `status` is set
// to the status it carries, if any.
std::string eureka_written_id(const json& request, std::string& status) {
  status.clear();
  const std::string method = request.at("method");
  const std::string path = request.at("path");
  const std::string query = request.value("query", "");
  if (method == "POST") {
    const json i = json::parse(request.at("body").get<std::string>()).at("instance");
    status = i.at("status");
    return i.at("instanceId");
  }
  const std::string tail = path.substr(path.rfind("/apps/") + 6);  // APP/ID[/status]
  const std::string rest = tail.substr(tail.find('/') + 1);
  if (method == "PUT" && rest.ends_with("/status")) {
    status = query.substr(query.find("value=") + 6);
    return rest.substr(0, rest.size() - 7);
  }
  if (method == "DELETE") return rest;
  return "";
}

}  // namespace

bool EurekaBackend::available() {
  return test::need(test::eureka_double_bin().has_value(),
                    "eureka-double not found (target eureka_double, built with go, or "
                    "$REGISTRAR_TEST_EUREKA_DOUBLE_BIN)");
}

EurekaBackend::EurekaBackend() : eureka_(options()) {}

config::RegistrySpec EurekaBackend::spec() const {
  config::RegistrySpec spec;
  spec.kind = config::RegistryKind::Eureka;
  const std::string host_port = "127.0.0.1:" + std::to_string(eureka_.port());
  spec.eureka.servers = {{eureka_.url(), host_port, "127.0.0.1", "/eureka", false}};
  spec.eureka.renewal_interval = 1s;  // the shortest a manifest allows
  spec.eureka.lease_duration = 3s;
  spec.eureka.request_timeout = 500ms;  // at most renewal_interval / 2
  spec.backoff.initial = 50ms;
  spec.backoff.max = 400ms;
  return spec;
}

std::optional<View> EurekaBackend::read() {
  try {
    View view;
    const json apps = eureka_.applications().at("applications");
    for (const json& app : elements(apps.value("application", json())))
      for (const json& i : elements(app.value("instance", json()))) {
        Seen seen;
        seen.name = i.at("vipAddress");
        seen.address = i.at("ipAddr");
        seen.port = i.at("port").at("$").get<std::uint16_t>();
        seen.meta = i.at("metadata").get<std::map<std::string, std::string>>();
        seen.meta.erase("gRPC_port");  // the backend's own key (docs/eureka.md)
        seen.healthy = i.at("status") == "UP";
        view.emplace(i.at("instanceId").get<std::string>(), std::move(seen));
      }
    return view;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

Mark EurekaBackend::mark() {
  Mark m;
  for (const auto& r : eureka_.requests(0)) {
    m.position = std::max(m.position, r.at("seq").get<std::uint64_t>());
    std::string status;
    const std::string id =
        r.at("status") == 204 || r.at("status") == 200 ? eureka_written_id(r, status) : "";
    if (!id.empty()) m.versions[id] = status;
  }
  return m;
}

// Registrations, cancels and status changes count; heartbeats are Eureka's keepalives, and a
// status request that repeats the status (re-asserted after a re-registration) is no change.
Writes EurekaBackend::writes_since(const Mark& mark) {
  Writes w;
  std::map<std::string, std::string> status = mark.versions;
  for (const auto& r : eureka_.requests(mark.position)) {
    const auto& h = r.at("headers");
    if (!h.contains("User-Agent") || h.at("User-Agent") != "grpc-registrar") continue;
    std::string carried;
    const std::string id = eureka_written_id(r, carried);
    if (id.empty()) continue;
    const bool is_status = r.at("method") == "PUT";
    if (is_status && status[id] == carried) continue;
    if (!carried.empty()) status[id] = carried;
    ++w.per_entry[id];
    ++w.total;
  }
  return w;
}

bool EurekaBackend::nothing_left() {
  return eureka_.state().at("instances") == 0;
}

void EurekaBackend::remove_from_outside(const registry::Registration& r) {
  std::string app = r.name;
  for (char& c : app) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  eureka_.cancel(app, r.id);
}

void EurekaBackend::lose_state() {
  eureka_.restart_wiping_state();
}

void EurekaBackend::take_down() {
  eureka_.kill();
}

// docs/eureka.md: the next heartbeat (within renewal_interval) is answered 404 and the instance
// registered at once: R + 2T; the cached GET /apps adds its 100 ms refresh.
Millis EurekaBackend::state_loss_bound() const {
  const auto s = spec();
  return s.eureka.renewal_interval + 2 * s.eureka.request_timeout + 100ms + kLoadSlack;
}

Millis EurekaBackend::outside_removal_bound() const {
  return state_loss_bound();
}

Millis EurekaBackend::quiet_period() const {
  return 2 * spec().eureka.renewal_interval;
}

}  // namespace registrar::conformance
