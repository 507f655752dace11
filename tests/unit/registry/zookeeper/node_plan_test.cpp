// The ZooKeeper backend's pure diff and the ownership record's encoding.
#include "registry/zookeeper/node_plan.hpp"

#include <catch2/catch.hpp>

#include "registry/zookeeper/owner_record.hpp"

using namespace registrar::registry::zookeeper;

TEST_CASE("zookeeper plan: create what is missing, set what differs, remove what is not wanted") {
  const std::map<std::string, std::string> desired{
      {"/s/a/1", "x"}, {"/s/a/2", "y"}, {"/s/b/1", "z"}};
  const std::map<std::string, OwnNode> own{
      {"/s/a/1", {"x", 0}}, {"/s/a/2", {"old", 3}}, {"/s/c/1", {"q", 5}}};
  const NodePlan p = plan_nodes(desired, own, {}, 100);
  CHECK(p.create == std::vector<std::string>{"/s/b/1"});
  CHECK(p.set == std::vector<std::string>{"/s/a/2"});
  REQUIRE(p.remove.size() == 1);
  CHECK(p.remove[0] == std::pair<std::string, std::int32_t>{"/s/c/1", 5});
  CHECK(plan_nodes(desired, {{"/s/a/1", {"x", 0}}, {"/s/a/2", {"y", 1}}, {"/s/b/1", {"z", 0}}}, {},
                   100)
            .empty());  // an unchanged node is never written again
}

TEST_CASE("zookeeper plan: held paths are left alone, and a batch is capped") {
  const std::map<std::string, std::string> desired{{"/s/a/1", "x"}, {"/s/a/2", "y"}};
  const std::map<std::string, OwnNode> own{{"/s/c/1", {"q", 0}}};
  const NodePlan p = plan_nodes(desired, own, {"/s/a/1", "/s/c/1"}, 100);
  CHECK(p.create == std::vector<std::string>{"/s/a/2"});
  CHECK(p.remove.empty());
  CHECK(plan_nodes(desired, own, {}, 2).size() == 2);
  CHECK(plan_nodes(desired, own, {}, 1).size() == 1);
}

TEST_CASE("zookeeper ancestors and the ownership record") {
  CHECK(ancestors("/a/b/c") == std::vector<std::string>{"/a", "/a/b"});
  CHECK(ancestors("/a").empty());
  CHECK(owner_record_path("node-7:/etc/registrar/manifest.yaml") ==
        "/grpc-registrar/owners/node-7:%2Fetc%2Fregistrar%2Fmanifest.yaml");
  CHECK(owner_record_path("100%") == "/grpc-registrar/owners/100%25");
  CHECK(owner_record_path("..") == "/grpc-registrar/owners/%2E.");
  CHECK(session_hex(0x1000a2b3c4d0005) == "0x01000a2b3c4d0005");
  const std::string data = owner_record_data("o", 0x1000a2b3c4d0005, "/services", "curator");
  CHECK(
      data ==
      R"({"owner":"o","session":"0x01000a2b3c4d0005","base_path":"/services","format":"curator"})");
  CHECK(owner_record_session(data) == 0x1000a2b3c4d0005);
  CHECK_FALSE(owner_record_session("{}"));
  CHECK_FALSE(owner_record_session(R"({"session":"12"})"));
  CHECK_FALSE(owner_record_session(R"({"session":"0xZZ"})"));
  CHECK_FALSE(owner_record_session("garbage"));
}
