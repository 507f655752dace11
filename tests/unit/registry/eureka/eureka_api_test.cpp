// The registration body and targets of the Eureka backend.
#include "registry/eureka/eureka_api.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace registrar::registry;
using namespace registrar::registry::eureka;
using nlohmann::json;

TEST_CASE("eureka: the registration body is the InstanceInfo grpc-spring and Spring expect") {
  Registration reg{"Hello-Svc", "hello-1",       "10.0.0.7",      50051,
                   {"v1"},      {{"zone", "a"}}, Health::Passing, ""};
  const json body = json::parse(
      registration_body(reg, "UP", {std::chrono::seconds(30), std::chrono::seconds(90)}));
  REQUIRE(body.size() == 1);
  const json& i = body.at("instance");
  CHECK(i.at("instanceId") == "hello-1");
  CHECK(i.at("hostName") == "10.0.0.7");
  CHECK(i.at("app") == "HELLO-SVC");
  CHECK(i.at("ipAddr") == "10.0.0.7");
  CHECK(i.at("vipAddress") == "hello-svc");
  CHECK(i.at("secureVipAddress") == "hello-svc");
  CHECK(i.at("status") == "UP");
  CHECK(i.at("port") == json{{"$", 50051}, {"@enabled", "true"}});
  CHECK(i.at("securePort").at("@enabled") == "false");
  CHECK(i.at("dataCenterInfo") ==
        json{{"@class", "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"},
             {"name", "MyOwn"}});
  CHECK(i.at("leaseInfo") == json{{"renewalIntervalInSecs", 30}, {"durationInSecs", 90}});
  CHECK(i.at("metadata") == json{{"zone", "a"}, {"gRPC_port", "50051"}});
}

TEST_CASE("eureka: targets upper-case the app and escape the id") {
  CHECK(app_target("/eureka", "hello") == "/eureka/apps/HELLO");
  CHECK(instance_target("/eureka/v2", "hello", "a b:1") == "/eureka/v2/apps/HELLO/a%20b%3A1");
  CHECK(status_target("", "hello", "h-1", "DOWN") == "/apps/HELLO/h-1/status?value=DOWN");
  CHECK(eureka_status(Health::Passing) == std::string("UP"));
  CHECK(eureka_status(Health::Warning) == std::string("UP"));
  CHECK(eureka_status(Health::Critical) == std::string("DOWN"));
}

TEST_CASE("eureka: basic authorization") {
  CHECK(basic_authorization("Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  CHECK(basic_authorization("a", "b") == "Basic YTpi");
}
