// The Consul agent double itself (tests/consul_double), through real HTTP: what a client of the
// agent API sees, with Consul's status codes, texts and JSON casing. Timings are printed
// (MEASURED), never asserted.
#include "support/consul_double.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "support/http_client.hpp"
#include "support/secrets.hpp"
#include "support/wait.hpp"

using namespace registrar::test;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

void measured(const std::string& what, Clock::time_point since) {
  const auto ms = std::chrono::duration_cast<Millis>(Clock::now() - since).count();
  std::cout << "MEASURED consul-double " << what << ": " << ms << " ms" << std::endl;
}

// A TTL service registration body.
json service_body(const std::string& id, const std::string& name, int port,
                  const std::string& ttl = "10s", json extra_check = json::object()) {
  json check = {{"CheckID", id + ":ttl"}, {"TTL", ttl}};
  check.update(extra_check);
  return {{"ID", id},
          {"Name", name},
          {"Tags", {"primary", "v1"}},
          {"Address", "127.0.0.1"},
          {"Port", port},
          {"Meta", {{"version", "1.2.3"}}},
          {"Check", check}};
}

HttpResponse register_service(ConsulDouble& consul, const json& body,
                              const std::string& query = "") {
  return consul.http().put("/v1/agent/service/register" + query, body.dump(),
                           consul.auth_headers());
}

HttpResponse update_check(ConsulDouble& consul, const std::string& check_id,
                          const std::string& status, const std::string& output) {
  return consul.http().put("/v1/agent/check/update/" + url_encode(check_id),
                           json{{"Status", status}, {"Output", output}}.dump(),
                           consul.auth_headers());
}

std::uint64_t index_header(const HttpResponse& res) {
  const auto h = res.header("X-Consul-Index");
  REQUIRE(h.has_value());
  return std::stoull(*h);
}

std::string check_status(ConsulDouble& consul, const std::string& check_id) {
  const json checks = consul.agent_checks();
  return checks.contains(check_id) ? checks[check_id].at("Status").get<std::string>() : "";
}

}  // namespace

TEST_CASE("register: /v1/agent/services and /v1/agent/checks show it with Consul's casing") {
  ConsulDouble consul;
  json body = service_body("web-1", "web", 8080, "10s",
                           {{"Name", "web health"},
                            {"Notes", "probed by grpc.health.v1"},
                            {"Status", "passing"},
                            {"DeregisterCriticalServiceAfter", "1m"}});
  body["Weights"] = {{"Passing", 10}, {"Warning", 1}};
  const HttpResponse reg = register_service(consul, body);
  REQUIRE(reg.status == 200);
  CHECK(reg.body.empty());

  const json services = consul.agent_services();
  REQUIRE(services.size() == 1);
  const json& s = services.at("web-1");
  CHECK(s.at("ID") == "web-1");
  CHECK(s.at("Service") == "web");
  CHECK(s.at("Tags") == json({"primary", "v1"}));
  CHECK(s.at("Meta") == json({{"version", "1.2.3"}}));
  CHECK(s.at("Address") == "127.0.0.1");
  CHECK(s.at("Port") == 8080);
  CHECK(s.at("Weights") == json({{"Passing", 10}, {"Warning", 1}}));
  CHECK(s.at("EnableTagOverride") == false);
  CHECK(s.at("Datacenter") == "dc1");
  CHECK(s.at("TaggedAddresses").at("lan_ipv4") == json({{"Address", "127.0.0.1"}, {"Port", 8080}}));

  const json checks = consul.agent_checks();
  REQUIRE(checks.size() == 1);
  const json& c = checks.at("web-1:ttl");
  CHECK(c.at("Node") == "node1");
  CHECK(c.at("CheckID") == "web-1:ttl");
  CHECK(c.at("Name") == "web health");
  CHECK(c.at("Notes") == "probed by grpc.health.v1");
  CHECK(c.at("Status") == "passing");
  CHECK(c.at("Output") == "");
  CHECK(c.at("ServiceID") == "web-1");
  CHECK(c.at("ServiceName") == "web");
  CHECK(c.at("ServiceTags") == json({"primary", "v1"}));
  CHECK(c.at("Type") == "ttl");

  // Defaults: ID = Name, CheckID "service:<id>", Name "Service '<name>' check", status critical,
  // Tags [] and Meta {}, Weights 1/1.
  REQUIRE(consul.http()
              .put("/v1/agent/service/register",
                   R"({"Name":"api","Port":9090,"Check":{"TTL":"10s"}})", consul.auth_headers())
              .status == 200);
  const json all = consul.agent_services();
  CHECK(all.at("api").at("Tags") == json::array());
  CHECK(all.at("api").at("Meta") == json::object());
  CHECK(all.at("api").at("Weights") == json({{"Passing", 1}, {"Warning", 1}}));
  const json dflt = consul.agent_checks().at("service:api");
  CHECK(dflt.at("Name") == "Service 'api' check");
  CHECK(dflt.at("Status") == "critical");

  // GET /v1/agent/service/:id carries its content hash in the body and the header.
  const HttpResponse one = consul.http().get("/v1/agent/service/web-1", consul.auth_headers());
  REQUIRE(one.status == 200);
  const json svc = json::parse(one.body);
  CHECK(svc.at("Service") == "web");
  REQUIRE(one.header("X-Consul-ContentHash").has_value());
  CHECK(svc.at("ContentHash") == *one.header("X-Consul-ContentHash"));
}

TEST_CASE("check update, pass, warn and fail set Status and Output, long output is truncated") {
  ConsulDouble consul;
  REQUIRE(
      register_service(consul, service_body("web-1", "web", 8080, "10s", {{"OutputMaxSize", 10}}))
          .status == 200);

  REQUIRE(update_check(consul, "web-1:ttl", "passing", "serving").status == 200);
  json c = consul.agent_checks().at("web-1:ttl");
  CHECK(c.at("Status") == "passing");
  CHECK(c.at("Output") == "serving");

  REQUIRE(update_check(consul, "web-1:ttl", "critical", "NOT_SERVING").status == 200);
  c = consul.agent_checks().at("web-1:ttl");
  CHECK(c.at("Status") == "critical");
  CHECK(c.at("Output") == "NOT_SERVIN ... (captured 10 of 11 bytes)");

  for (const std::string verb : {"warn", "pass", "fail"}) {
    const HttpResponse res = consul.http().put(
        "/v1/agent/check/" + verb + "/web-1:ttl?note=" + verb, "", consul.auth_headers());
    REQUIRE(res.status == 200);
    c = consul.agent_checks().at("web-1:ttl");
    const std::string want = verb == "warn" ? "warning" : verb == "pass" ? "passing" : "critical";
    CHECK(c.at("Status") == want);
    CHECK(c.at("Output") == verb);
  }
}

TEST_CASE("an unrefreshed TTL check turns critical with output 'TTL expired'") {
  ConsulDouble consul;
  REQUIRE(
      register_service(consul, service_body("web-1", "web", 8080, "1s", {{"Status", "passing"}}))
          .status == 200);
  auto t0 = Clock::now();
  REQUIRE(wait_until([&] { return check_status(consul, "web-1:ttl") == "critical"; }, 5s));
  measured("TTL 1s, registration to critical", t0);
  CHECK(consul.agent_checks().at("web-1:ttl").at("Output") == "TTL expired");

  // After an update, the expired output carries the last output, as CheckTTL does. (A 1 s TTL:
  // the update and the read that follows it must both fit in it, on a loaded machine too.)
  REQUIRE(update_check(consul, "web-1:ttl", "passing", "all good").status == 200);
  CHECK(check_status(consul, "web-1:ttl") == "passing");
  t0 = Clock::now();
  REQUIRE(wait_until([&] { return check_status(consul, "web-1:ttl") == "critical"; }, 5s));
  measured("TTL 1s, update to critical", t0);
  CHECK(consul.agent_checks().at("web-1:ttl").at("Output") ==
        "TTL expired (last output before timeout follows): all good");
}

TEST_CASE("a check critical for longer than DeregisterCriticalServiceAfter is reaped") {
  // time scale 0.01: the 1m minimum becomes 600ms, the 30s reaper period 300ms.
  ConsulDouble consul(ConsulDoubleOptions{.token = "", .time_scale = 0.01});
  REQUIRE(register_service(consul, service_body("doomed", "web", 8080, "200ms",
                                                {{"DeregisterCriticalServiceAfter", "1s"}}))
              .status == 200);
  REQUIRE(register_service(consul, service_body("kept", "web", 8081, "200ms")).status == 200);
  const auto t0 = Clock::now();
  REQUIRE(wait_until([&] { return !consul.agent_services().contains("doomed"); }, 10s));
  measured("reap at time scale 0.01 (TTL 200ms + clamped 1m*0.01)", t0);
  CHECK_FALSE(consul.agent_checks().contains("doomed:ttl"));
  // No DeregisterCriticalServiceAfter: critical, but never reaped.
  CHECK(consul.agent_services().contains("kept"));
  CHECK(check_status(consul, "kept:ttl") == "critical");
}

TEST_CASE("/v1/health/service: passing and tag filters, Service.Address and Service.Port") {
  ConsulDouble consul;
  json a = service_body("web-1", "web", 8080);
  a["Tags"] = {"primary", "v1"};
  json b = service_body("web-2", "web", 8081);
  b["Tags"] = {"v1"};
  b["Address"] = "127.0.0.2";
  REQUIRE(register_service(consul, a).status == 200);
  REQUIRE(register_service(consul, b).status == 200);
  REQUIRE(register_service(consul, service_body("db-1", "db", 5432)).status == 200);
  REQUIRE(update_check(consul, "web-1:ttl", "passing", "ok").status == 200);

  const json all = consul.health_service("web", false);
  REQUIRE(all.size() == 2);
  CHECK(all[0].at("Service").at("ID") == "web-1");
  CHECK(all[1].at("Service").at("Address") == "127.0.0.2");
  CHECK(all[1].at("Service").at("Port") == 8081);
  CHECK(all[0].at("Node").at("Node") == "node1");
  CHECK(all[0].at("Node").at("Datacenter") == "dc1");
  // The node's serfHealth check is part of every instance, and passing.
  const json& checks = all[0].at("Checks");
  REQUIRE(checks.size() == 2);
  CHECK(checks[0].at("CheckID") == "serfHealth");
  CHECK(checks[0].at("Status") == "passing");
  CHECK(checks[1].at("CheckID") == "web-1:ttl");

  const json passing = consul.health_service("web", true);
  REQUIRE(passing.size() == 1);
  CHECK(passing[0].at("Service").at("Address") == "127.0.0.1");
  CHECK(passing[0].at("Service").at("Port") == 8080);

  CHECK(consul.health_service("web", false, "v1").size() == 2);
  CHECK(consul.health_service("web", false, "PRIMARY").size() == 1);  // tags compare caselessly
  CHECK(consul.health_service("web", true, "v2").empty());
  const HttpResponse both =
      consul.http().get("/v1/health/service/web?tag=primary&tag=v1", consul.auth_headers());
  CHECK(json::parse(both.body).size() == 1);

  const HttpResponse unknown = consul.http().get("/v1/health/service/nothing");
  REQUIRE(unknown.status == 200);
  CHECK(unknown.body == "[]");
  CHECK(index_header(unknown) >= 1);
}

TEST_CASE("blocking health query: returns on a change, else after wait, X-Consul-Index grows") {
  ConsulDouble consul;
  REQUIRE(register_service(consul, service_body("web-1", "web", 8080)).status == 200);
  const HttpResponse first = consul.http().get("/v1/health/service/web");
  const std::uint64_t i1 = index_header(first);
  REQUIRE(i1 > 0);
  consul.clear_requests();

  auto blocked = std::async(std::launch::async, [&] {
    HttpClient client("127.0.0.1", consul.port(), 20s);
    return client.get("/v1/health/service/web?passing=1&index=" + std::to_string(i1) + "&wait=10s");
  });
  // The query has arrived and is still unanswered (status 0 in the request log).
  REQUIRE(wait_until(
      [&] {
        const json log = consul.requests();
        return log.size() == 1 && log[0].at("status") == 0;
      },
      5s));
  CHECK(blocked.wait_for(200ms) == std::future_status::timeout);
  const auto t0 = Clock::now();
  REQUIRE(update_check(consul, "web-1:ttl", "passing", "ok").status == 200);
  const HttpResponse woke = blocked.get();
  measured("blocking query, update to answer", t0);
  REQUIRE(woke.status == 200);
  const std::uint64_t i2 = index_header(woke);
  CHECK(i2 > i1);
  CHECK(json::parse(woke.body).size() == 1);

  // An idempotent write (same status, same output) changes nothing the catalog holds.
  REQUIRE(update_check(consul, "web-1:ttl", "passing", "ok").status == 200);
  CHECK(index_header(consul.http().get("/v1/health/service/web")) == i2);

  // No change: the answer comes after `wait`, with the same index.
  const auto t1 = Clock::now();
  const HttpResponse timed_out =
      consul.http().get("/v1/health/service/web?index=" + std::to_string(i2) + "&wait=300ms");
  measured("blocking query with wait=300ms and no change", t1);
  REQUIRE(timed_out.status == 200);
  CHECK(index_header(timed_out) == i2);

  // Deregistration and a restart move the index on, never back, never to 0.
  REQUIRE(consul.http().put("/v1/agent/service/deregister/web-1").status == 200);
  const HttpResponse gone = consul.http().get("/v1/health/service/web");
  const std::uint64_t i3 = index_header(gone);
  CHECK(i3 > i2);
  CHECK(gone.body == "[]");
  REQUIRE(register_service(consul, service_body("web-1", "web", 8080)).status == 200);
  const std::uint64_t i4 = index_header(consul.http().get("/v1/health/service/web"));
  CHECK(i4 > i3);
  consul.restart_wiping_state();
  const std::uint64_t i5 = index_header(consul.http().get("/v1/health/service/web"));
  CHECK(i5 > i4);
}

TEST_CASE("hash-blocking GET /v1/agent/service/:id returns when the service changes") {
  ConsulDouble consul;
  REQUIRE(register_service(consul, service_body("web-1", "web", 8080)).status == 200);
  const HttpResponse first = consul.http().get("/v1/agent/service/web-1");
  const std::string hash = *first.header("X-Consul-ContentHash");

  const HttpResponse same =
      consul.http().get("/v1/agent/service/web-1?hash=" + hash + "&wait=200ms");
  REQUIRE(same.status == 200);
  CHECK(*same.header("X-Consul-ContentHash") == hash);

  consul.clear_requests();
  auto blocked = std::async(std::launch::async, [&] {
    HttpClient client("127.0.0.1", consul.port(), 20s);
    return client.get("/v1/agent/service/web-1?hash=" + hash + "&wait=10s");
  });
  REQUIRE(wait_until([&] { return consul.requests().size() == 1; }, 5s));
  REQUIRE(register_service(consul, service_body("web-1", "web", 9090)).status == 200);
  const HttpResponse changed = blocked.get();
  REQUIRE(changed.status == 200);
  CHECK(*changed.header("X-Consul-ContentHash") != hash);
  CHECK(json::parse(changed.body).at("Port") == 9090);
}

TEST_CASE("ACLs: 403 without a token or with a wrong one, 200 with the configured one") {
  ConsulDouble consul(ConsulDoubleOptions{.token = kKnownToken});
  const std::string body = service_body("web-1", "web", 8080).dump();
  HttpClient& http = consul.http();

  const HttpResponse anon = http.put("/v1/agent/service/register", body);
  CHECK(anon.status == 403);
  CHECK(anon.body ==
        "Permission denied: anonymous token lacks permission 'service:write' on \"web\". The "
        "anonymous token is used implicitly when a request does not specify a token.");
  const HttpResponse wrong =
      http.put("/v1/agent/service/register", body, {{"X-Consul-Token", kKnownPassword}});
  CHECK(wrong.status == 403);
  CHECK(wrong.body == "ACL not found");
  CHECK(http.put("/v1/agent/service/register", body, {{"X-Consul-Token", kKnownToken}}).status ==
        200);
  // The other two places Consul takes a token from.
  CHECK(http.put("/v1/agent/check/pass/web-1:ttl", "",
                 {{"Authorization", std::string("Bearer ") + kKnownToken}})
            .status == 200);
  CHECK(http.put(std::string("/v1/agent/check/pass/web-1:ttl?token=") + kKnownToken).status == 200);

  // Reads: the anonymous token sees nothing (filtered, not refused); a wrong token is refused.
  const HttpResponse anon_list = http.get("/v1/agent/services");
  CHECK(anon_list.status == 200);
  CHECK(anon_list.body == "{}");
  CHECK(http.get("/v1/agent/services", {{"X-Consul-Token", kKnownPassword}}).status == 403);
  CHECK(consul.agent_services().contains("web-1"));
  CHECK(http.get("/v1/health/service/web").body == "[]");
  CHECK(consul.health_service("web", true).size() == 1);

  // A known check without a token is refused; an unknown one is 404 first, as in Consul.
  CHECK(http.put("/v1/agent/check/fail/web-1:ttl").status == 403);
  CHECK(http.put("/v1/agent/check/fail/nope").status == 404);
  CHECK(http.put("/v1/agent/service/deregister/web-1").status == 403);
  CHECK(http.get("/v1/agent/self").status == 403);
  CHECK(http.get("/v1/agent/self", consul.auth_headers()).status == 200);

  // The controls are not Consul's and take no token.
  CHECK_NOTHROW(consul.requests());
}

TEST_CASE("validation: 400 with Consul's plain-text reasons") {
  ConsulDouble consul;
  HttpClient& http = consul.http();
  const auto reg = [&](const std::string& body) {
    return http.put("/v1/agent/service/register", body);
  };

  HttpResponse res = reg(R"({"Name":"web","Bogus":1,"Check":{"TTL":"10s"}})");
  CHECK(res.status == 400);
  CHECK(res.body == R"(Request decode failed: json: unknown field "Bogus")");
  CHECK(res.header("Content-Type").value_or("").rfind("text/plain", 0) == 0);

  res = reg(R"({"Name":"web","Check":{"TTL":"10s","Foo":"x"}})");
  CHECK(res.status == 400);
  CHECK(res.body == R"(Request decode failed: json: unknown field "Foo")");

  res = reg(R"({"Name":"web","Check":{"TTL":"ten seconds"}})");
  CHECK(res.status == 400);
  CHECK(res.body == R"(Request decode failed: time: invalid duration "ten seconds")");

  res = reg(R"({"Name":"web","Check":{"TTL":"10s","DeregisterCriticalServiceAfter":"soon"}})");
  CHECK(res.status == 400);
  CHECK(res.body == R"(Request decode failed: time: invalid duration "soon")");

  res = reg(R"({"Port":8080,"Check":{"TTL":"10s"}})");
  CHECK(res.status == 400);
  CHECK(res.body == "Missing service name");

  res = reg(R"({"Name":"web","Address":"0.0.0.0","Check":{"TTL":"10s"}})");
  CHECK(res.status == 400);
  CHECK(res.body == "Invalid service address");

  res = reg(R"({"Name":"web","Check":{"CheckID":"c"}})");
  CHECK(res.status == 400);
  CHECK(res.body == "Invalid check: TTL must be > 0 for TTL checks");

  res = reg(R"({"Name":"web","Check":{"TTL":"10s","Status":"fine"}})");
  CHECK(res.status == 400);
  CHECK(res.body == "Status for checks must 'passing', 'warning', 'critical'");

  res = reg(R"({"Name":"web","Weights":{"Passing":0,"Warning":1}})");
  CHECK(res.status == 400);
  CHECK(res.body == "Invalid Weights: Passing must be greater than 0");

  res = reg("");
  CHECK(res.status == 400);
  CHECK(res.body == "Request decode failed: EOF");

  // Snake case and any key case are accepted, as Consul's decoder does.
  CHECK(
      reg(R"({"name":"web","id":"web-1","check":{"ttl":"10s","deregister_critical_service_after":"5m"}})")
          .status == 200);

  res = http.put("/v1/agent/check/update/web-1", R"({"Status":"bogus"})");
  CHECK(res.status == 400);
  CHECK(res.body == "Invalid check status: 'bogus'");
  res = http.put("/v1/agent/check/update/service:web-1", R"({"Status":"passing","Extra":1})");
  CHECK(res.status == 400);
  CHECK(res.body == R"(Request decode failed: json: unknown field "Extra")");

  res = http.get("/v1/health/service/web?index=1&wait=forever");
  CHECK(res.status == 400);
  CHECK(res.body == "Invalid wait time");
  res = http.get("/v1/health/service/web?passing=maybe");
  CHECK(res.status == 400);
  CHECK(res.body == "Invalid value for ?passing");
}

TEST_CASE("unknown ids are 404, wrong methods 405, unmodelled endpoints 501") {
  ConsulDouble consul;
  HttpClient& http = consul.http();

  HttpResponse res = http.put("/v1/agent/check/update/nope", R"({"Status":"passing"})");
  CHECK(res.status == 404);
  CHECK(res.body ==
        R"(Unknown check ID "nope". Ensure that the check ID is passed, not the check name.)");
  res = http.put("/v1/agent/check/pass/nope");
  CHECK(res.status == 404);
  res = http.put("/v1/agent/service/deregister/nope");
  CHECK(res.status == 404);
  CHECK(
      res.body ==
      R"(Unknown service ID "nope". Ensure that the service ID is passed, not the service name.)");
  res = http.get("/v1/agent/service/nope");
  CHECK(res.status == 404);
  CHECK(res.body == "unknown service ID: nope");

  res = http.get("/v1/agent/service/register");
  CHECK(res.status == 405);
  CHECK(res.body == "method GET not allowed");
  CHECK(res.header("Allow") == std::optional<std::string>("OPTIONS,PUT"));
  CHECK(http.post("/v1/agent/check/update/x", "{}").status == 405);
  CHECK(http.put("/v1/agent/services").status == 405);

  CHECK(http.get("/v1/kv/anything").status == 501);
  res = http.get("/v1/no/such/thing");
  CHECK(res.status == 404);
  CHECK(res.body == "Invalid URL path: not a recognized HTTP API endpoint\n");
}

TEST_CASE("re-registration keeps check status, replace-existing-checks drops the others") {
  ConsulDouble consul;
  json body = service_body("web-1", "web", 8080);
  REQUIRE(register_service(consul, body).status == 200);
  REQUIRE(update_check(consul, "web-1:ttl", "passing", "ok").status == 200);

  // Same check id again: status and output survive (Agent.AddService's check snapshot).
  body["Port"] = 8081;
  REQUIRE(register_service(consul, body).status == 200);
  json c = consul.agent_checks().at("web-1:ttl");
  CHECK(c.at("Status") == "passing");
  CHECK(c.at("Output") == "ok");
  CHECK(consul.agent_services().at("web-1").at("Port") == 8081);

  // A new check id: without replace-existing-checks the old check stays...
  json other = service_body("web-1", "web", 8081);
  other["Check"]["CheckID"] = "web-1:ttl2";
  REQUIRE(register_service(consul, other).status == 200);
  CHECK(consul.agent_checks().size() == 2);
  // ...with it, it goes.
  REQUIRE(register_service(consul, other, "?replace-existing-checks=true").status == 200);
  const json checks = consul.agent_checks();
  CHECK(checks.size() == 1);
  CHECK(checks.contains("web-1:ttl2"));

  REQUIRE(consul.http().put("/v1/agent/service/deregister/web-1").status == 200);
  CHECK(consul.agent_services().empty());
  CHECK(consul.agent_checks().empty());
}

TEST_CASE("restart wipes the agent's state as a restart without its data dir does") {
  ConsulDouble consul;
  REQUIRE(register_service(consul, service_body("web-1", "web", 8080)).status == 200);
  REQUIRE(consul.agent_services().size() == 1);
  consul.restart_wiping_state();
  CHECK(consul.agent_services().empty());
  CHECK(consul.agent_checks().empty());
  CHECK(consul.health_service("web", false).empty());
  CHECK(update_check(consul, "web-1:ttl", "passing", "ok").status == 404);

  // A process restart (SIGKILL, start again) comes back on the same port, empty.
  REQUIRE(register_service(consul, service_body("web-1", "web", 8080)).status == 200);
  const auto port = consul.port();
  consul.kill();
  consul.start();
  CHECK(consul.port() == port);
  CHECK(consul.agent_services().empty());
}

TEST_CASE("fault controls (fail, delay and close the next requests) and the request log") {
  ConsulDouble consul;
  HttpClient& http = consul.http();

  consul.fail_next(2);
  for (int i = 0; i < 2; ++i) {
    const HttpResponse res = http.get("/v1/agent/services");
    CHECK(res.status == 500);
    CHECK(res.header("Content-Type").value_or("").rfind("text/plain", 0) == 0);
  }
  CHECK(http.get("/v1/agent/services").status == 200);
  consul.fail_next(1, 503);
  CHECK(http.get("/v1/agent/services").status == 503);
  CHECK(http.get("/v1/agent/services").status == 200);

  consul.clear_requests();
  consul.delay(300, 1);
  auto t0 = Clock::now();
  CHECK(http.get("/v1/agent/services").status == 200);
  measured("delayed answer (delay 300ms)", t0);
  CHECK(http.get("/v1/agent/services").status == 200);
  json log = consul.requests();
  REQUIRE(log.size() == 2);
  CHECK(log[0].at("fault") == "delay");
  CHECK(log[0].at("delay_ms") == 300);
  CHECK_FALSE(log[1].contains("fault"));

  consul.close_next(1);
  CHECK_THROWS_AS(http.get("/v1/agent/services"), HttpTransportError);
  CHECK(http.get("/v1/agent/services").status == 200);
  // The same on a kept-alive connection: the connection dies, the next request reconnects.
  HttpClient persistent("127.0.0.1", consul.port(), 5s, true);
  CHECK(persistent.get("/v1/agent/services").status == 200);
  consul.close_next(1);
  CHECK_THROWS_AS(persistent.get("/v1/agent/services"), HttpTransportError);
  CHECK(persistent.get("/v1/agent/services").status == 200);

  // The log: every Consul request with method, path, query, headers, body and status.
  consul.clear_requests();
  REQUIRE(consul.http()
              .put("/v1/agent/service/register?replace-existing-checks",
                   R"({"Name":"x","Check":{"TTL":"1s"}})", {{"X-Consul-Token", kKnownToken}})
              .status == 200);
  log = consul.requests();
  REQUIRE(log.size() == 1);
  CHECK(log[0].at("method") == "PUT");
  CHECK(log[0].at("path") == "/v1/agent/service/register");
  CHECK(log[0].at("query") == "replace-existing-checks");
  CHECK(log[0].at("headers").at("X-Consul-Token") == kKnownToken);
  CHECK(json::parse(log[0].at("body").get<std::string>()).at("Name") == "x");
  CHECK(log[0].at("status") == 200);
  CHECK(log[0].at("time_ms").get<std::int64_t>() > 0);
  const std::uint64_t seq = log[0].at("seq").get<std::uint64_t>();
  CHECK(http.get("/v1/agent/checks").status == 200);
  log = consul.requests(seq);
  REQUIRE(log.size() == 1);
  CHECK(log[0].at("path") == "/v1/agent/checks");
}

TEST_CASE("X-Consul-Index of a name with capitals moves only with that name's changes") {
  ConsulDouble consul;
  REQUIRE(register_service(consul, service_body("greeter-1", "Greeter", 8080)).status == 200);
  const std::uint64_t before = index_header(consul.http().get("/v1/health/service/Greeter"));
  // The catalog's index table lowercases its keys: any spelling of the name is the same entry.
  CHECK(index_header(consul.http().get("/v1/health/service/greeter")) == before);

  REQUIRE(register_service(consul, service_body("other-1", "other", 8081)).status == 200);
  CHECK(consul.index() > before);
  CHECK(index_header(consul.http().get("/v1/health/service/Greeter")) == before);
  CHECK(index_header(consul.http().get("/v1/health/service/GREETER")) == before);

  // A blocking watcher on Greeter is not woken by another name's write: it answers after `wait`.
  const HttpResponse still = consul.http().get(
      "/v1/health/service/Greeter?index=" + std::to_string(before) + "&wait=200ms");
  CHECK(index_header(still) == before);
  // Its own change moves it.
  REQUIRE(update_check(consul, "greeter-1:ttl", "passing", "ok").status == 200);
  CHECK(index_header(consul.http().get("/v1/health/service/greeter")) > before);
}

TEST_CASE("a name without instances gets the last extinction index") {
  ConsulDouble consul;
  // No name ever lost its last instance: the whole catalog's index.
  REQUIRE(register_service(consul, service_body("a-1", "a", 8080)).status == 200);
  CHECK(index_header(consul.http().get("/v1/health/service/never")) == consul.index());

  REQUIRE(consul.http().put("/v1/agent/service/deregister/a-1").status == 200);
  const std::uint64_t extinct = consul.index();
  CHECK(index_header(consul.http().get("/v1/health/service/a")) == extinct);
  CHECK(index_header(consul.http().get("/v1/health/service/never")) == extinct);

  // Registering another name moves the catalog, not the index of names without instances.
  REQUIRE(register_service(consul, service_body("b-1", "b", 8081)).status == 200);
  REQUIRE(register_service(consul, service_body("b-2", "b", 8082)).status == 200);
  CHECK(consul.index() > extinct);
  CHECK(index_header(consul.http().get("/v1/health/service/never")) == extinct);
  CHECK(index_header(consul.http().get("/v1/health/service/a")) == extinct);

  // One of two instances going is no extinction; the last one going is.
  REQUIRE(consul.http().put("/v1/agent/service/deregister/b-1").status == 200);
  CHECK(index_header(consul.http().get("/v1/health/service/never")) == extinct);
  REQUIRE(consul.http().put("/v1/agent/service/deregister/b-2").status == 200);
  const std::uint64_t extinct2 = index_header(consul.http().get("/v1/health/service/never"));
  CHECK(extinct2 > extinct);
  CHECK(extinct2 == consul.index());
  CHECK(index_header(consul.http().get("/v1/health/service/a")) == extinct2);
}

TEST_CASE("namespaces and partitions are refused as by Consul CE, before the body is read") {
  ConsulDouble consul;
  HttpClient& http = consul.http();
  const std::string ns_query =
      R"(Invalid query parameter: "ns" - Namespaces are a Consul Enterprise feature)";
  const std::string ns_header =
      R"(Invalid header: "X-Consul-Namespace" - Namespaces are a Consul Enterprise feature)";
  const std::string ap_query =
      R"(Invalid query parameter: "partition" - Partitions are a Consul Enterprise feature)";
  const std::string ap_header =
      R"(Invalid header: "X-Consul-Partition" - Partitions are a Consul Enterprise feature)";

  // Register: the (broken) body is never decoded.
  HttpResponse res = http.put("/v1/agent/service/register?ns=team", "{not json");
  CHECK(res.status == 400);
  CHECK(res.body == ns_query);
  res = http.put("/v1/agent/service/register?ns=team", "{}", {{"X-Consul-Namespace", "team"}});
  CHECK(res.status == 400);
  CHECK(res.body == ns_header);  // the header is looked at first
  res = http.put("/v1/agent/service/register?partition=p", "{not json");
  CHECK(res.status == 400);
  CHECK(res.body == ap_query);
  res = http.put("/v1/agent/service/register", "{}", {{"X-Consul-Partition", "p"}});
  CHECK(res.status == 400);
  CHECK(res.body == ap_header);
  res = http.put("/v1/agent/service/register?partition=p&ns=team", "{}");
  CHECK(res.body == ns_query);  // namespace before partition

  // An empty value is no value.
  REQUIRE(register_service(consul, service_body("web-1", "web", 8080), "?ns=&partition=").status ==
          200);

  // The other modelled endpoints (but /v1/agent/self, which takes neither).
  for (const std::string target : {"/v1/agent/services?ns=x", "/v1/agent/checks?ns=x",
                                   "/v1/agent/service/web-1?ns=x", "/v1/health/service/web?ns=x"}) {
    res = http.get(target);
    CHECK(res.status == 400);
    CHECK(res.body == ns_query);
  }
  for (const std::string target :
       {"/v1/agent/check/pass/web-1:ttl?ns=x", "/v1/agent/service/deregister/web-1?ns=x"}) {
    res = http.put(target);
    CHECK(res.status == 400);
    CHECK(res.body == ns_query);
  }
  // check/update decodes and validates its body first.
  res = http.put("/v1/agent/check/update/web-1:ttl?ns=x", R"({"Status":"bogus"})");
  CHECK(res.body == "Invalid check status: 'bogus'");
  res = http.put("/v1/agent/check/update/web-1:ttl?ns=x", R"({"Status":"passing"})");
  CHECK(res.status == 400);
  CHECK(res.body == ns_query);
  CHECK(http.get("/v1/agent/self?ns=x").status == 200);
  CHECK(consul.agent_services().contains("web-1"));  // nothing above deregistered it
}

TEST_CASE(
    "legacy agent (--legacy-agent): unknown check updates and deregistrations as before Consul "
    "1.11") {
  SECTION("ACLs off: 500 'does not have associated TTL', deregistration a 200 no-op") {
    ConsulDouble consul(ConsulDoubleOptions{.token = "", .legacy_agent = true});
    HttpResponse res = update_check(consul, "nope", "passing", "ok");
    CHECK(res.status == 500);
    CHECK(res.body == R"(CheckID "nope" does not have associated TTL)");
    res = consul.http().put("/v1/agent/check/pass/nope");
    CHECK(res.status == 500);
    CHECK(res.body == R"(CheckID "nope" does not have associated TTL)");
    res = consul.http().put("/v1/agent/service/deregister/nope");
    CHECK(res.status == 200);
    CHECK(res.body.empty());
    // Known ids behave as today.
    REQUIRE(register_service(consul, service_body("web-1", "web", 8080)).status == 200);
    CHECK(update_check(consul, "web-1:ttl", "passing", "ok").status == 200);
    CHECK(consul.http().put("/v1/agent/service/deregister/web-1").status == 200);
    CHECK(consul.agent_services().empty());
  }
  SECTION("ACLs on: 500 'Unknown check' and 'Unknown service'") {
    ConsulDouble consul(ConsulDoubleOptions{.token = kKnownToken, .legacy_agent = true});
    HttpResponse res = update_check(consul, "nope", "passing", "ok");
    CHECK(res.status == 500);
    CHECK(res.body == R"(Unknown check "nope")");
    res = consul.http().put("/v1/agent/service/deregister/nope", "", consul.auth_headers());
    CHECK(res.status == 500);
    CHECK(res.body == R"(Unknown service "nope")");
    // The token is still resolved first.
    res = consul.http().put("/v1/agent/service/deregister/nope", "",
                            {{"X-Consul-Token", kKnownPassword}});
    CHECK(res.status == 403);
    CHECK(res.body == "ACL not found");
  }
}

TEST_CASE("register: empty maps count as set, empty Connect/Proxy are ignored, Locality kept") {
  ConsulDouble consul;
  HttpClient& http = consul.http();
  const auto reg = [&](const std::string& body) {
    return http.put("/v1/agent/service/register", body);
  };

  // CheckType.Empty is reflect.DeepEqual: an empty Header map makes the check non-empty.
  HttpResponse res = reg(R"({"Name":"web","Check":{"Header":{}}})");
  CHECK(res.status == 400);
  CHECK(res.body == "Invalid check: TTL must be > 0 for TTL checks");
  res = reg(R"({"Name":"web","Check":{"script_args":[]}})");
  CHECK(res.status == 400);
  CHECK(res.body == "Invalid check: TTL must be > 0 for TTL checks");
  // null and the ignored ServiceID leave it empty: a service without checks.
  REQUIRE(reg(R"({"Name":"web","ID":"web-0","Check":{"Header":null,"ServiceID":"x"}})").status ==
          200);
  CHECK(consul.agent_checks().empty());

  // Empty Connect and Proxy objects change nothing for a typical service.
  REQUIRE(
      reg(R"({"Name":"web","ID":"web-1","Connect":{},"Proxy":{},"Check":{"TTL":"10s"}})").status ==
      200);
  CHECK(consul.agent_services().contains("web-1"));
  res = reg(R"({"Name":"web","Connect":{"Native":true}})");
  CHECK(res.status == 400);
  CHECK(res.body.rfind("consul-double: ", 0) == 0);

  // Locality (Consul 1.17+) is stored and echoed.
  REQUIRE(
      reg(R"({"Name":"web","ID":"web-2","Locality":{"Region":"eu-west-1","Zone":"a"}})").status ==
      200);
  const json want = {{"Region", "eu-west-1"}, {"Zone", "a"}};
  CHECK(consul.agent_services().at("web-2").at("Locality") == want);
  CHECK_FALSE(consul.agent_services().at("web-1").contains("Locality"));
  const json one = json::parse(http.get("/v1/agent/service/web-2").body);
  CHECK(one.at("Locality") == want);
  bool seen = false;
  for (const json& n : consul.health_service("web", false)) {
    if (n.at("Service").at("ID") == "web-2") {
      CHECK(n.at("Service").at("Locality") == want);
      seen = true;
    }
  }
  CHECK(seen);
  res = reg(R"({"Name":"web","Locality":{"Region":"r","Bogus":1}})");
  CHECK(res.status == 400);
  CHECK(res.body == R"(Request decode failed: json: unknown field "Bogus")");
}

TEST_CASE("/v1/agent/service/maintenance/:id is an unmodelled endpoint (501)") {
  ConsulDouble consul;
  REQUIRE(register_service(consul, service_body("web-1", "web", 8080)).status == 200);
  HttpResponse res = consul.http().put("/v1/agent/service/maintenance/web-1?enable=true");
  CHECK(res.status == 501);
  CHECK(res.body.rfind("consul-double: /v1/agent/service/maintenance/ ", 0) == 0);
  CHECK(consul.http().get("/v1/agent/service/maintenance/web-1").status == 501);
  // The service endpoint next to it is unaffected.
  CHECK(consul.http().get("/v1/agent/service/web-1").status == 200);
}
