#include "status/status_service.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace registrar::status {

namespace {

HttpResponse text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse json(int status, const nlohmann::ordered_json& j) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return r;
}

HttpResponse method_not_allowed(const char* allow) {
  HttpResponse r = text(405, std::string("method not allowed; use ") + allow + "\n");
  r.headers.emplace_back("Allow", allow);
  return r;
}

// Seconds between `then` and `now`, as JSON (null when unknown).
nlohmann::ordered_json age(const std::optional<runtime::Clock::time_point>& then,
                           runtime::Clock::time_point now) {
  if (!then) return nullptr;
  const double s = std::chrono::duration<double>(now - *then).count();
  return std::round(s * 1000) / 1000;
}

// RFC 3339 in UTC with milliseconds, or null.
nlohmann::ordered_json wall_time(const std::optional<runtime::Clock::wall_time_point>& t) {
  if (!t) return nullptr;
  return runtime::rfc3339_utc(*t);
}

}  // namespace

StatusService::StatusService(Monitor& monitor, metrics::DaemonMetrics& metrics, std::string version)
    : monitor_(monitor), metrics_(metrics), version_(std::move(version)) {}

std::string StatusService::services_json() const {
  const Snapshot s = monitor_.snapshot();
  nlohmann::ordered_json j;
  j["version"] = version_;
  j["ready"] = s.ready;
  j["not_ready_reason"] = s.not_ready_reason;
  j["first_pass_done"] = s.first_pass_done;
  j["registered_once"] = s.registered_once;
  j["draining"] = s.draining;
  j["stopping"] = s.stopping;
  nlohmann::ordered_json reg;
  reg["kind"] = s.registry_kind;
  reg["connectivity"] = to_string(s.registry.connectivity);
  reg["in_sync"] = s.registry.in_sync;
  reg["registered"] = s.registry.registered;
  reg["last_error"] = s.registry.last_error;
  j["registry"] = reg;
  nlohmann::ordered_json services = nlohmann::ordered_json::array();
  for (const ServiceView& v : s.services) {
    nlohmann::ordered_json e;
    e["id"] = v.id;
    e["name"] = v.name;
    e["address"] = v.address;
    e["port"] = v.port;
    nlohmann::ordered_json p;
    p["target"] = v.probe_target;
    p["service"] = v.probe_service;
    p["state"] = v.healthy ? "healthy" : "unhealthy";
    p["last_result"] = v.probed ? nlohmann::ordered_json(probe::to_string(v.last_result.outcome))
                                : nlohmann::ordered_json(nullptr);
    p["detail"] = v.last_result.detail;
    p["results"] = v.results;
    p["seconds_since_result"] = age(v.last_result_at, s.now);
    p["seconds_since_change"] = age(v.last_change_at, s.now);
    p["last_change"] = wall_time(v.last_change_wall);
    e["probe"] = p;
    e["registration"] = to_string(v.registration);
    e["last_error"] = v.last_error;
    services.push_back(e);
  }
  j["services"] = services;
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void StatusService::handle(const HttpRequest& req, std::function<void(HttpResponse)> respond) {
  const bool get = req.method == "GET";
  if (req.path == "/healthz") {
    if (!get) return respond(method_not_allowed("GET"));
    return respond(text(200, "ok\n"));
  }
  if (req.path == "/readyz") {
    if (!get) return respond(method_not_allowed("GET"));
    monitor_.refresh();
    const Snapshot s = monitor_.snapshot();
    if (s.ready) return respond(text(200, "ready\n"));
    return respond(text(503, "not ready: " + s.not_ready_reason + "\n"));
  }
  if (req.path == "/v1/services") {
    if (!get) return respond(method_not_allowed("GET"));
    HttpResponse r = text(200, services_json());
    r.content_type = "application/json";
    return respond(std::move(r));
  }
  if (req.path == "/metrics") {
    if (!get) return respond(method_not_allowed("GET"));
    monitor_.refresh();
    HttpResponse r = text(200, metrics_.registry.expose());
    r.content_type = metrics::kExpositionContentType;
    return respond(std::move(r));
  }
  if (req.path == "/v1/drain") {
    if (req.method != "POST") return respond(method_not_allowed("POST"));
    if (!req.peer.control_socket) {
      // Reaching the TCP port proves nothing about who asks (any local user, a web page through
      // DNS rebinding): acting needs the control socket, whose file mode says who may act.
      spdlog::warn("POST /v1/drain from {} refused: drain is accepted on the control socket only",
                   req.peer.describe());
      return respond(text(403,
                          "drain is accepted on the control socket only (grpc-registrar drain), "
                          "not on the TCP status address\n"));
    }
    if (!drain_) return respond(text(501, "drain is not available in this mode\n"));
    spdlog::info("POST /v1/drain from {}: draining", req.peer.describe());
    return drain_([respond](DrainResult result) {
      nlohmann::ordered_json j;
      j["drained"] = true;
      j["clean"] = result.clean;
      j["message"] = result.message;
      respond(json(200, j));
    });
  }
  respond(text(404, "not found; try /healthz, /readyz, /v1/services, /metrics, POST /v1/drain\n"));
}

}  // namespace registrar::status
