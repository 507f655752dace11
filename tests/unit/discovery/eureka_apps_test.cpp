// The Eureka reader's reading of GET /apps/{APP}: instances as Eureka's clients see them (UP is
// passing, gRPC_port over port.$), and one clear reason for an answer that is not an application.
#include "discovery/eureka_apps.hpp"

#include <catch2/catch.hpp>

using namespace registrar;
using namespace registrar::discovery;

namespace {

std::string eureka_instance(const std::string& id, const std::string& status,
                            const std::string& metadata = "{}") {
  return R"({"instanceId":")" + id + R"(","app":"HELLO","hostName":"h.example","ipAddr":"10.0.0.)" +
         id.substr(id.size() - 1) + R"(","status":")" + status +
         R"(","port":{"$":8080,"@enabled":"true"},"metadata":)" + metadata + "}";
}

}  // namespace

TEST_CASE("eureka apps: instances with their status, gRPC_port and metadata") {
  const std::string body = R"({"application":{"name":"HELLO","instance":[)" +
                           eureka_instance("i-1", "UP", R"({"gRPC_port":"9090","zone":"a"})") +
                           "," + eureka_instance("i-2", "DOWN") + "," +
                           eureka_instance("i-3", "OUT_OF_SERVICE", R"({"gRPC_port":"x"})") + "]}}";
  std::string why;
  const auto set = eureka::parse_application(body, why);
  INFO(why);
  REQUIRE(set);
  REQUIRE(set->size() == 3);
  const Instance& one = set->at("i-1");
  CHECK(one.name == "HELLO");
  CHECK(one.address == "10.0.0.1");
  CHECK(one.port == 9090);  // the gRPC port, not the instance's port
  CHECK(one.health == registry::Health::Passing);
  CHECK(one.meta.at("zone") == "a");
  CHECK(set->at("i-2").health == registry::Health::Critical);
  CHECK(set->at("i-2").port == 8080);
  CHECK(set->at("i-3").port == 8080);  // a gRPC_port that is no port is not used
  CHECK(set->at("i-3").health == registry::Health::Critical);
}

TEST_CASE("eureka apps: one instance as an object, bare ports, hostName as the id") {
  std::string why;
  auto set = eureka::parse_application(
      R"({"application":{"name":"HELLO","instance":{"hostName":"10.1.1.1","port":7000,"status":"UP"}}})",
      why);
  REQUIRE(set);
  REQUIRE(set->count("10.1.1.1") == 1);
  CHECK(set->at("10.1.1.1").address == "10.1.1.1");
  CHECK(set->at("10.1.1.1").port == 7000);
  CHECK(set->at("10.1.1.1").name == "HELLO");
  set = eureka::parse_application(R"({"application":{"name":"HELLO"}})", why);
  REQUIRE(set);
  CHECK(set->empty());
}

TEST_CASE("eureka apps: malformed answers give one reason, never a crash") {
  const char* bad[] = {
      "",
      "not json",
      "[]",
      R"({"applications":{}})",
      R"({"application":[]})",
      R"({"application":{"instance":"x"}})",
      R"({"application":{"instance":[1]}})",
      R"({"application":{"instance":[{"instanceId":"a","ipAddr":"1.2.3.4"}]}})",
      R"({"application":{"instance":[{"instanceId":"a","ipAddr":"1.2.3.4","port":{"$":70000}}]}})",
      R"({"application":{"instance":[{"instanceId":"a","ipAddr":"1.2.3.4","port":{"$":-1}}]}})",
      R"({"application":{"instance":[{"instanceId":7,"ipAddr":"1.2.3.4","port":1}]}})",
      R"({"application":{"instance":[{"ipAddr":"1.2.3.4","port":1}]}})",
  };
  for (const char* body : bad) {
    INFO(body);
    std::string why;
    CHECK_FALSE(eureka::parse_application(body, why));
    CHECK(!why.empty());
    CHECK(why.find('\n') == std::string::npos);
  }
}
