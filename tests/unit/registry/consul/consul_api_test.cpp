// consul_api: request bodies and targets as Consul documents them, and the parsing of answers.
#include "registry/consul/consul_api.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace registrar::registry;
using namespace registrar::registry::consul;
using nlohmann::json;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

namespace {

Registration reg() {
  return {"hello",        "hello-1",       "10.0.0.5",      50051,
          {"v1", "blue"}, {{"zone", "a"}}, Health::Passing, "SERVING via Watch"};
}

}  // namespace

TEST_CASE("go_duration writes what Go's time.ParseDuration reads") {
  CHECK(go_duration(10s) == "10s");
  CHECK(go_duration(1min) == "1m");
  CHECK(go_duration(90s) == "90s");
  CHECK(go_duration(90min) == "90m");
  CHECK(go_duration(2h) == "2h");
  CHECK(go_duration(1500ms) == "1500ms");
  CHECK(go_duration(0ms) == "0s");
}

TEST_CASE("the refresh interval is a third of the TTL") {
  CHECK(refresh_interval(9s) == 3s);
  CHECK(refresh_interval(10s) == 3333ms);
  CHECK(refresh_interval(milliseconds(3)) == 10ms);  // never a busy loop
}

TEST_CASE("register body: every field Consul documents, exactly") {
  CheckSettings check{10s, 1min};
  const json body = json::parse(register_body(reg(), std::nullopt, "host:/etc/m.yaml", check));
  CHECK(body == json::parse(R"J({
    "ID": "hello-1", "Name": "hello", "Tags": ["v1", "blue"], "Address": "10.0.0.5",
    "Port": 50051,
    "Meta": {"zone": "a", "managed-by": "grpc-registrar", "grpc-registrar-owner": "host:/etc/m.yaml"},
    "Check": {"CheckID": "grpc-registrar:hello-1", "Name": "gRPC health (grpc-registrar)",
              "Notes": "grpc.health.v1 result pushed by grpc-registrar every 3333ms (TTL 10s); Consul deregisters the service after 1m critical",
              "TTL": "10s", "DeregisterCriticalServiceAfter": "1m", "Status": "passing"}})J"));
  CHECK_FALSE(body.contains("Weights"));
  // Keys in Consul's documented order, for humans reading the agent's log.
  const std::string text = register_body(reg(), std::nullopt, "o", check);
  CHECK(text.find("\"ID\"") < text.find("\"Name\""));
  CHECK(text.find("\"Meta\"") < text.find("\"Check\""));

  const json weighted =
      json::parse(register_body(reg(), registrar::config::ConsulWeights{10, 1}, "o", check));
  CHECK(weighted.at("Weights") == json{{"Passing", 10}, {"Warning", 1}});
  Registration critical = reg();
  critical.health = Health::Critical;
  CHECK(json::parse(register_body(critical, std::nullopt, "o", check)).at("Check").at("Status") ==
        "critical");
  Registration untagged = reg();
  untagged.tags.clear();
  untagged.meta.clear();
  const json u = json::parse(register_body(untagged, std::nullopt, "o", check));
  CHECK(u.at("Tags") == json::array());
  CHECK(u.at("Meta").size() == 2);
}

TEST_CASE("update body: Status and Output, Output cut on a UTF-8 boundary") {
  CHECK(json::parse(update_body(Health::Critical, "NOT_SERVING via Watch")) ==
        json{{"Status", "critical"}, {"Output", "NOT_SERVING via Watch"}});
  CHECK(json::parse(update_body(Health::Warning, "")).at("Status") == "warning");
  std::string long_output(kMaxOutput - 1, 'x');
  long_output += "\xC3\xA9";  // "é" straddles the limit
  const std::string out = json::parse(update_body(Health::Passing, long_output)).at("Output");
  CHECK(out.size() == kMaxOutput - 1);
}

TEST_CASE("targets: ids are escaped as path segments") {
  CHECK(register_target() == "/v1/agent/service/register?replace-existing-checks=true");
  CHECK(update_target("hello-1") == "/v1/agent/check/update/grpc-registrar:hello-1");
  CHECK(deregister_target("a b?c#d%") == "/v1/agent/service/deregister/a%20b%3Fc%23d%25");
  CHECK(service_target("h\xC3\xA9") == "/v1/agent/service/h%C3%A9");
  CHECK(escape_path_segment("A-z_0.9~:@+") == "A-z_0.9~:@%2B");
}

TEST_CASE("answers: a service as the agent shows it compares equal to what we registered") {
  const std::string answer = R"({
    "ID": "hello-1", "Service": "hello", "Tags": ["v1", "blue"], "Address": "10.0.0.5",
    "Port": 50051, "Meta": {"zone": "a", "managed-by": "grpc-registrar",
    "grpc-registrar-owner": "me"}, "Weights": {"Passing": 1, "Warning": 1},
    "EnableTagOverride": false, "ContentHash": "4ecd29c7bc647ca8", "Datacenter": "dc1"})";
  std::string why;
  auto got = parse_service(answer, why);
  REQUIRE(got);
  CHECK(same_service(*got, expected_service(reg(), std::nullopt, "me")));
  CHECK(owned_by(*got, "me"));
  CHECK_FALSE(owned_by(*got, "someone-else"));
  CHECK_FALSE(
      same_service(*got, expected_service(reg(), registrar::config::ConsulWeights{5, 1}, "me")));
  Registration moved = reg();
  moved.port = 50052;
  CHECK_FALSE(same_service(*got, expected_service(moved, std::nullopt, "me")));
  CHECK_FALSE(parse_service("not json", why));
  CHECK(why == "the agent's answer is not a JSON object");
}

TEST_CASE("answers: null tags and meta are the same as empty ones") {
  std::string why;
  auto got = parse_service(
      R"({"ID":"x","Service":"s","Tags":null,"Meta":null,"Address":"a","Port":1})", why);
  REQUIRE(got);
  Registration r{"s", "x", "a", 1, {}, {}, Health::Passing, ""};
  AgentService want = expected_service(r, std::nullopt, "o");
  want.meta.clear();
  CHECK(same_service(*got, want));
}

TEST_CASE("answers: the lists of services and checks") {
  std::string why;
  auto services =
      parse_services(R"({"a":{"ID":"a","Service":"s","Port":1},"b":{"Service":"t"}})", why);
  REQUIRE(services);
  CHECK(services->size() == 2);
  CHECK(services->at("b").id == "b");
  CHECK(services->at("a").name == "s");
  auto checks = parse_checks(
      R"({"grpc-registrar:a":{"CheckID":"grpc-registrar:a","ServiceID":"a","Status":"passing",
          "Output":"SERVING","Notes":"n","Node":"n1"}})",
      why);
  REQUIRE(checks);
  const AgentCheck& c = checks->at("grpc-registrar:a");
  CHECK(c.service_id == "a");
  CHECK(c.status == "passing");
  CHECK(c.output == "SERVING");
  CHECK(c.notes == "n");
  CHECK(parse_health("warning") == Health::Warning);
  CHECK_FALSE(parse_health("maintenance").has_value());
}

TEST_CASE("an unknown check: 404 on current agents, 500 'does not have associated TTL' on older") {
  CHECK(check_unknown(404,
                      "Unknown check ID \"grpc-registrar:a\". Ensure that the check ID is "
                      "passed, not the check name."));
  CHECK(check_unknown(500, "CheckID \"grpc-registrar:a\" does not have associated TTL"));
  CHECK_FALSE(check_unknown(500, "rpc error: No cluster leader"));
  CHECK_FALSE(check_unknown(403, "Permission denied"));
}

TEST_CASE("describe_answer: one short line") {
  CHECK(describe_answer(403, "ACL not found") == "403 ACL not found");
  CHECK(describe_answer(500, "line one\nline two") == "500 line one");
  CHECK(describe_answer(400, "bad\x01") == "400 bad\\x01");
  CHECK(describe_answer(404, "") == "404");
  CHECK(describe_answer(500, std::string(300, 'x')) == "500 " + std::string(200, 'x') + "...");
}
