// The Nacos reader's request and its reading of /nacos/v1/ns/instance/list: hosts as Nacos's
// clients see them (disabled ones never, gRPC_port over port), and one clear reason for an
// answer that is not such a list.
#include "discovery/nacos_hosts.hpp"

#include <catch2/catch.hpp>

using namespace registrar;
using namespace registrar::discovery;

TEST_CASE("nacos hosts: the list request names the service, group, namespace and health") {
  config::NacosSpec spec;
  spec.group = "G 1";
  spec.namespace_id = "dev";
  auto req = nacos::list_request(spec, Query{"hello", {}, true}, "");
  CHECK(req.method == registry::http::Method::Get);
  CHECK(req.target ==
        "/nacos/v1/ns/instance/list?serviceName=hello&groupName=G%201&namespaceId=dev"
        "&healthyOnly=true");
  req = nacos::list_request(spec, Query{"hello", {}, false}, "tok/en");
  CHECK(req.target.ends_with("&healthyOnly=false&accessToken=tok%2Fen"));
}

TEST_CASE("nacos hosts: hosts with their health and gRPC_port, disabled ones left out") {
  const std::string body =
      R"({"name":"DEFAULT_GROUP@@hello","hosts":[)"
      R"({"instanceId":"10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@hello","ip":"10.0.0.1","port":8080,)"
      R"("healthy":true,"enabled":true,"metadata":{"gRPC_port":"9090","zone":"a"}},)"
      R"({"ip":"10.0.0.2","port":8081,"healthy":false,"clusterName":"DEFAULT"},)"
      R"({"instanceId":"off","ip":"10.0.0.3","port":8082,"healthy":true,"enabled":false}]})";
  std::string why;
  const auto set = nacos::parse_instance_list(body, why);
  INFO(why);
  REQUIRE(set);
  REQUIRE(set->size() == 2);
  const Instance& one = set->at("10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@hello");
  CHECK(one.name == "hello");
  CHECK(one.address == "10.0.0.1");
  CHECK(one.port == 9090);
  CHECK(one.health == registry::Health::Passing);
  CHECK(one.meta.at("zone") == "a");
  // No instanceId: Nacos's own id.
  const Instance& two = set->at("10.0.0.2#8081#DEFAULT#DEFAULT_GROUP@@hello");
  CHECK(two.port == 8081);
  CHECK(two.health == registry::Health::Critical);
}

TEST_CASE("nacos hosts: malformed answers give one reason, never a crash") {
  const char* bad[] = {
      "",
      "caused: no;",
      "[]",
      R"({"hosts":{}})",
      R"({"hosts":[1]})",
      R"({"hosts":[{"ip":"1.2.3.4"}]})",
      R"({"hosts":[{"ip":"1.2.3.4","port":0}]})",
      R"({"hosts":[{"ip":"1.2.3.4","port":65536}]})",
      R"({"hosts":[{"ip":5,"port":1}]})",
      R"({"hosts":[{"ip":"1.2.3.4","port":1.5}]})",
  };
  for (const char* body : bad) {
    INFO(body);
    std::string why;
    CHECK_FALSE(nacos::parse_instance_list(body, why));
    CHECK(!why.empty());
    CHECK(why.find('\n') == std::string::npos);
  }
}
