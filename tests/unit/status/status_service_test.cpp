#include "status/status_service.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "fakes.hpp"

using namespace registrar;
using namespace registrar::status;
using namespace registrar::status::test;
using registry::Connectivity;
using O = probe::Outcome;

namespace {

HttpResponse call(StatusService& s, const std::string& method, const std::string& path,
                  bool control_socket = false) {
  std::optional<HttpResponse> out;
  HttpRequest req;
  req.method = method;
  req.path = path;
  req.peer.control_socket = control_socket;
  s.handle(req, [&](HttpResponse r) { out = std::move(r); });
  REQUIRE(out);
  return *out;
}

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return "";
}

}  // namespace

TEST_CASE("status: /healthz, /readyz and unknown paths", "[status]") {
  Harness h({spec("a")});
  StatusService svc(h.monitor, h.metrics, "9.9.9");
  CHECK(call(svc, "GET", "/healthz").status == 200);
  CHECK(call(svc, "GET", "/healthz").body == "ok\n");

  auto r = call(svc, "GET", "/readyz");
  CHECK(r.status == 503);
  CHECK(r.body == "not ready: waiting for the first probe result of 1 service(s)\n");
  h.result("a", O::Serving);
  h.registry_state(Connectivity::Up, {"a"});
  r = call(svc, "GET", "/readyz");
  CHECK(r.status == 200);
  CHECK(r.body == "ready\n");

  CHECK(call(svc, "GET", "/nope").status == 404);
  r = call(svc, "POST", "/healthz");
  CHECK(r.status == 405);
  CHECK(header(r, "Allow") == "GET");
  r = call(svc, "GET", "/v1/drain");
  CHECK(r.status == 405);
  CHECK(header(r, "Allow") == "POST");
}

TEST_CASE("status: /v1/services lists probe and registration state", "[status]") {
  Harness h({spec("a"), spec("b")});
  h.result("a", O::Serving, "SERVING (watch)");
  h.result("b", O::Unreachable, "UNAVAILABLE: connection refused");
  h.registry_state(Connectivity::Up, {"a"});
  h.clock.advance(std::chrono::seconds(2));
  StatusService svc(h.monitor, h.metrics, "9.9.9");
  const auto r = call(svc, "GET", "/v1/services");
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  const auto j = nlohmann::json::parse(r.body);
  CHECK(j["version"] == "9.9.9");
  CHECK(j["ready"] == true);
  CHECK(j["registry"]["kind"] == "etcd");
  CHECK(j["registry"]["connectivity"] == "up");
  CHECK(j["registry"]["registered"] == 1);
  REQUIRE(j["services"].size() == 2);
  const auto& a = j["services"][0];
  CHECK(a["id"] == "a");
  CHECK(a["name"] == "svc");
  CHECK(a["address"] == "127.0.0.1");
  CHECK(a["port"] == 5000);
  CHECK(a["probe"]["state"] == "healthy");
  CHECK(a["probe"]["last_result"] == "serving");
  CHECK(a["probe"]["detail"] == "SERVING (watch)");
  CHECK(a["probe"]["results"] == 1);
  CHECK(a["probe"]["seconds_since_result"] == 2.0);
  CHECK(a["registration"] == "registered");
  CHECK(a["last_error"] == "");
  const auto& b = j["services"][1];
  CHECK(b["probe"]["state"] == "unhealthy");
  CHECK(b["registration"] == "not_registered");
  CHECK(b["last_error"] == "UNAVAILABLE: connection refused");
}

TEST_CASE("status: /metrics is Prometheus text and follows the probes", "[status]") {
  Harness h({spec("a")});
  StatusService svc(h.monitor, h.metrics, "9.9.9");
  h.result("a", O::Serving);
  auto r = call(svc, "GET", "/metrics");
  CHECK(r.status == 200);
  CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(r.body.find("grpc_registrar_probe_results_total{service=\"a\",result=\"serving\"} 1\n") !=
        std::string::npos);
  h.result("a", O::NotServing);
  r = call(svc, "GET", "/metrics");
  CHECK(
      r.body.find("grpc_registrar_service_transitions_total{service=\"a\",to=\"unhealthy\"} 1\n") !=
      std::string::npos);
  CHECK(r.body.find("grpc_registrar_service_healthy{service=\"a\"} 0\n") != std::string::npos);
}

TEST_CASE("status: POST /v1/drain answers once the drain handler is done", "[status]") {
  Harness h({spec("a")});
  StatusService svc(h.monitor, h.metrics, "9.9.9");
  CHECK(call(svc, "POST", "/v1/drain", true).status == 501);  // no handler: e.g. a one-off mode

  std::function<void(DrainResult)> finish;
  svc.set_drain_handler([&](std::function<void(DrainResult)> done) { finish = std::move(done); });
  std::optional<HttpResponse> out;
  HttpRequest req;
  req.method = "POST";
  req.path = "/v1/drain";
  req.peer.control_socket = true;
  req.peer.uid = 0;
  svc.handle(req, [&](HttpResponse r) { out = std::move(r); });
  CHECK_FALSE(out);  // waits for the registry
  REQUIRE(finish);
  finish(DrainResult{true, "deregistered 1 service(s)"});
  REQUIRE(out);
  CHECK(out->status == 200);
  const auto j = nlohmann::json::parse(out->body);
  CHECK(j["drained"] == true);
  CHECK(j["clean"] == true);
  CHECK(j["message"] == "deregistered 1 service(s)");
}

TEST_CASE("status: POST /v1/drain on TCP is refused, whoever asks", "[status]") {
  Harness h({spec("a")});
  StatusService svc(h.monitor, h.metrics, "9.9.9");
  bool drained = false;
  svc.set_drain_handler([&](std::function<void(DrainResult)> done) {
    drained = true;
    done(DrainResult{true, ""});
  });
  HttpRequest req;
  req.method = "POST";
  req.path = "/v1/drain";
  req.peer.address = "127.0.0.1:50000";
  req.peer.uid = 0;  // even root: reaching the port says nothing of who asks
  std::optional<HttpResponse> out;
  svc.handle(req, [&](HttpResponse r) { out = std::move(r); });
  REQUIRE(out);
  CHECK(out->status == 403);
  CHECK(out->body.find("control socket") != std::string::npos);
  CHECK_FALSE(drained);
  // Reading works on both.
  CHECK(call(svc, "GET", "/healthz").status == 200);
  CHECK(call(svc, "GET", "/healthz", true).status == 200);
}
