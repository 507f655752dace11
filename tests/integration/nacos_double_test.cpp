// The Nacos naming double itself (tests/nacos_double), through real HTTP: what a client of the
// v1 Open API sees, with Nacos's status codes, texts and JSON. Each rejection text of the
// server has its own case. Timings are bounded by the double's time scale, never asserted tight.
#include "support/nacos_double.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "support/http_client.hpp"
#include "support/wait.hpp"

using namespace registrar::test;
using nlohmann::json;

namespace {

const HttpHeaders kForm{{"Content-Type", "application/x-www-form-urlencoded"}};

std::string kRegister =
    "serviceName=svc&groupName=DEFAULT_GROUP&namespaceId=public&clusterName=DEFAULT"
    "&ip=127.0.0.1&port=5000&weight=1&enabled=true&healthy=true&ephemeral=true";

HttpResponse post_instance(NacosDouble& nacos, const std::string& form) {
  return nacos.http().post("/nacos/v1/ns/instance", form, kForm);
}

HttpResponse beat(NacosDouble& nacos, const std::string& query, const std::string& body = "") {
  return nacos.http().request("PUT", "/nacos/v1/ns/instance/beat?" + query, body, kForm);
}

std::string full_beat(int port = 5000) {
  json b = {{"cluster", "DEFAULT"},
            {"ip", "127.0.0.1"},
            {"port", port},
            {"weight", 1.0},
            {"metadata", json::object()},
            {"period", 5000},
            {"scheduled", false},
            {"serviceName", "DEFAULT_GROUP@@svc"},
            {"stopped", false}};
  return "beat=" + url_encode(b.dump());
}

void expect_rejected(NacosDouble& nacos, const std::string& form, int status,
                     const std::string& text) {
  const HttpResponse res = post_instance(nacos, form);
  CHECK(res.status == status);
  CHECK(res.body == "caused: " + text + ";");
}

}  // namespace

TEST_CASE("nacos double: a registration is listed, healthy, with its metadata", "[nacos_double]") {
  NacosDouble nacos;
  const HttpResponse res =
      post_instance(nacos, kRegister + "&metadata=" + url_encode(R"({"gRPC_port":"5000"})"));
  REQUIRE(res.status == 200);
  CHECK(res.body == "ok");
  const json hosts = nacos.hosts("svc", true);
  REQUIRE(hosts.size() == 1);
  CHECK(hosts[0]["ip"] == "127.0.0.1");
  CHECK(hosts[0]["port"] == 5000);
  CHECK(hosts[0]["healthy"] == true);
  CHECK(hosts[0]["metadata"]["gRPC_port"] == "5000");
  CHECK(hosts[0]["instanceId"] == "127.0.0.1#5000#DEFAULT#DEFAULT_GROUP@@svc");
  CHECK(hosts[0]["serviceName"] == "DEFAULT_GROUP@@svc");
  CHECK(nacos.hosts("svc", true, "other-namespace").empty());
}

TEST_CASE("nacos double: rejects a missing serviceName with Nacos's text", "[nacos_double]") {
  NacosDouble nacos;
  expect_rejected(nacos, "ip=127.0.0.1&port=1", 400, "Param 'serviceName' is required.");
}

TEST_CASE("nacos double: rejects a missing ip with Nacos's text", "[nacos_double]") {
  NacosDouble nacos;
  expect_rejected(nacos, "serviceName=svc&port=1", 400, "Param 'ip' is required.");
}

TEST_CASE("nacos double: rejects a missing port with Nacos's text", "[nacos_double]") {
  NacosDouble nacos;
  expect_rejected(nacos, "serviceName=svc&ip=127.0.0.1", 400, "Param 'port' is required.");
}

TEST_CASE("nacos double: rejects a port that is not a number as Java does", "[nacos_double]") {
  NacosDouble nacos;
  expect_rejected(nacos, "serviceName=svc&ip=127.0.0.1&port=x1", 400, "For input string: \"x1\"");
}

TEST_CASE("nacos double: rejects a weight that is not a number as Java does", "[nacos_double]") {
  NacosDouble nacos;
  expect_rejected(nacos, "serviceName=svc&ip=127.0.0.1&port=1&weight=heavy", 400,
                  "For input string: \"heavy\"");
}

TEST_CASE("nacos double: rejects a misspelled IPv4 address with Nacos's text", "[nacos_double]") {
  NacosDouble nacos;
  expect_rejected(nacos, "serviceName=svc&ip=127.0.0.300&port=1", 400,
                  "instance format invalid: Your IP address is spelled incorrectly");
}

TEST_CASE("nacos double: rejects a weight out of range with Nacos's text", "[nacos_double]") {
  NacosDouble nacos;
  expect_rejected(nacos, "serviceName=svc&ip=127.0.0.1&port=1&weight=10001", 400,
                  "instance format invalid: The weights range from 0.0 to 10000.0");
}

TEST_CASE("nacos double: rejects metadata that is neither JSON nor k=v", "[nacos_double]") {
  NacosDouble nacos;
  expect_rejected(nacos, "serviceName=svc&ip=127.0.0.1&port=1&metadata=" + url_encode("{oops"), 400,
                  "metadata format incorrect:{oops");
}

TEST_CASE("nacos double: rejects a beat interval above the timeouts", "[nacos_double]") {
  NacosDouble nacos;
  expect_rejected(
      nacos,
      "serviceName=svc&ip=127.0.0.1&port=1&metadata=" +
          url_encode(R"({"preserved.heart.beat.interval":"20000"})"),
      400,
      "Instance 'heart beat interval' must less than 'heart beat timeout' and 'ip delete "
      "timeout'.");
}

TEST_CASE("nacos double: rejects a serviceName without a name after the group", "[nacos_double]") {
  NacosDouble nacos;
  expect_rejected(nacos, "serviceName=" + url_encode("grp@@") + "&ip=127.0.0.1&port=1", 400,
                  "Param 'serviceName' is illegal, it should be format as "
                  "'groupName@@serviceName'");
}

TEST_CASE("nacos double: beats answer 10200 with the interval, 20404 for an unknown light beat",
          "[nacos_double]") {
  NacosDouble nacos;
  REQUIRE(post_instance(nacos, kRegister).status == 200);
  const std::string q =
      "serviceName=svc&groupName=DEFAULT_GROUP&namespaceId=public"
      "&clusterName=DEFAULT&ip=127.0.0.1&port=5000";
  HttpResponse res = beat(nacos, q, full_beat());
  REQUIRE(res.status == 200);
  json answer = json::parse(res.body);
  CHECK(answer["code"] == 10200);
  CHECK(answer["clientBeatInterval"] == 5000);
  CHECK(answer["lightBeatEnabled"] == true);

  nacos.restart_wiping_state();
  res = beat(nacos, q);  // a light beat: no "beat" parameter
  REQUIRE(res.status == 200);
  answer = json::parse(res.body);
  CHECK(answer["code"] == 20404);
  CHECK(nacos.hosts("svc", false).empty());

  // A full beat registers the lost instance again from the beat (data compensation).
  res = beat(nacos, q, full_beat());
  CHECK(json::parse(res.body)["code"] == 10200);
  CHECK(nacos.hosts("svc", true).size() == 1);
}

TEST_CASE("nacos double: a deregistration answers ok, known or not", "[nacos_double]") {
  NacosDouble nacos;
  REQUIRE(post_instance(nacos, kRegister).status == 200);
  const std::string q =
      "/nacos/v1/ns/instance?serviceName=svc&groupName=DEFAULT_GROUP"
      "&namespaceId=public&clusterName=DEFAULT&ip=127.0.0.1&port=5000";
  HttpResponse res = nacos.http().request("DELETE", q);
  CHECK(res.status == 200);
  CHECK(res.body == "ok");
  CHECK(nacos.hosts("svc", false).empty());
  res = nacos.http().request("DELETE", q);
  CHECK(res.status == 200);
}

TEST_CASE("nacos double: without beats an instance turns unhealthy, then is removed",
          "[nacos_double]") {
  // Scale 0.02: unhealthy after 0.3 s (15 s), removed after 0.6 s (30 s), checked every 0.1 s.
  NacosDouble nacos({.time_scale = 0.02});
  REQUIRE(post_instance(nacos, kRegister).status == 200);
  CHECK(wait_until([&] { return nacos.hosts("svc", true).empty(); }, 5s));
  // Unhealthy before removed: seen with healthyOnly=false in between (or already removed on a
  // very loaded machine; then the order is not observable, but removal still must come).
  CHECK(wait_until([&] { return nacos.hosts("svc", false).empty(); }, 5s));
  // preserved.* metadata lengthen them: 100 s unhealthy -> 2 s at this scale.
  REQUIRE(post_instance(nacos, kRegister + "&metadata=" +
                                   url_encode(R"({"preserved.heart.beat.timeout":"100000",)"
                                              R"("preserved.ip.delete.timeout":"200000"})"))
              .status == 200);
  std::this_thread::sleep_for(800ms);  // past the default 30 s (0.6 s) removal
  CHECK(nacos.hosts("svc", true).size() == 1);
}

TEST_CASE("nacos double: auth wants a token and says why it refuses", "[nacos_double]") {
  NacosDouble nacos({.user = "nacos", .password = "s3cret pass"});
  HttpResponse res = post_instance(nacos, kRegister);
  CHECK(res.status == 403);
  CHECK(json::parse(res.body)["message"] == "user not found!");
  res = post_instance(nacos, kRegister + "&accessToken=bogus");
  CHECK(res.status == 403);
  CHECK(json::parse(res.body)["message"] == "token invalid!");
  res = nacos.http().post("/nacos/v1/auth/login", "username=nacos&password=wrong", kForm);
  CHECK(res.status == 403);
  CHECK(res.body == "unknown user!");
  res = nacos.http().post("/nacos/v1/auth/login",
                          "username=nacos&password=" + url_encode("s3cret pass"), kForm);
  REQUIRE(res.status == 200);
  const json login = json::parse(res.body);
  CHECK(login["tokenTtl"] == 18000);
  const std::string token = login["accessToken"];
  CHECK(post_instance(nacos, kRegister + "&accessToken=" + token).status == 200);
  nacos.expire_tokens();
  res = post_instance(nacos, kRegister + "&accessToken=" + token);
  CHECK(res.status == 403);
  CHECK(json::parse(res.body)["message"] == "token expired!");
}

TEST_CASE("nacos double: a fail control answers the next requests with a server error",
          "[nacos_double]") {
  NacosDouble nacos;
  nacos.fail_next(2, 503);
  CHECK(post_instance(nacos, kRegister).status == 503);
  CHECK(post_instance(nacos, kRegister).status == 503);
  CHECK(post_instance(nacos, kRegister).status == 200);
  CHECK(nacos.stats()["registers"] == 3);
}
