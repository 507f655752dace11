// The ZooKeeper reader's reading of a service's children: every format the backend writes, by the
// manifest's format first and then by shape, and one clear reason for a node of none.
#include "discovery/zookeeper_nodes.hpp"

#include <catch2/catch.hpp>

#include "registry/zookeeper/entry_format.hpp"

using namespace registrar;
using namespace registrar::discovery;
using config::ZooKeeperFormat;

namespace {

registry::Registration hello_registration() {
  registry::Registration r;
  r.name = "hello";
  r.id = "hello-1";
  r.address = "10.0.0.1";
  r.port = 7001;
  r.tags = {"v1", "blue"};
  r.meta = {{"zone", "a"}};
  return r;
}

}  // namespace

TEST_CASE("zookeeper nodes: every format the backend writes is read, whatever the setting") {
  const registry::Registration r = hello_registration();
  const ZooKeeperFormat formats[] = {ZooKeeperFormat::Curator, ZooKeeperFormat::GoKit,
                                     ZooKeeperFormat::Serverset, ZooKeeperFormat::Nerve};
  for (ZooKeeperFormat written : formats) {
    const auto e = registry::zookeeper::encode(written, "/services", r, 1700000000000);
    const std::string child = e.path.substr(e.path.rfind('/') + 1);
    for (ZooKeeperFormat setting : formats) {
      INFO(e.data << " read with setting " << static_cast<int>(setting));
      std::string why;
      const auto i = zookeeper::parse_node(setting, "/services", "hello", child, e.data, why);
      REQUIRE(i);
      CHECK(i->id == "hello-1");
      CHECK(i->name == "hello");
      CHECK(i->address == "10.0.0.1");
      CHECK(i->port == 7001);
      CHECK(i->health == registry::Health::Passing);
      if (written == ZooKeeperFormat::Curator) {
        CHECK(i->meta == std::map<std::string, std::string>{{"zone", "a"}});
        CHECK(i->tags == std::vector<std::string>{"v1", "blue"});
      }
    }
  }
  CHECK(zookeeper::service_path("/services", "hello") == "/services/hello");
}

TEST_CASE("zookeeper nodes: data of no format gives one reason, never a crash") {
  const char* bad[] = {"",
                       "not json",
                       "{}",
                       "[]",
                       "host",
                       "host:0",
                       "host:99999",
                       R"({"host":"a","port":"x"})",
                       R"({"serviceEndpoint":1})",
                       R"({"serviceEndpoint":{"host":"a","port":1},"status":"DEAD"})"};
  for (const char* data : bad) {
    INFO(data);
    std::string why;
    CHECK_FALSE(
        zookeeper::parse_node(ZooKeeperFormat::Curator, "/services", "hello", "c", data, why));
    CHECK(!why.empty());
  }
  std::string why;
  CHECK_FALSE(zookeeper::parse_node(ZooKeeperFormat::GoKit, "/services", "hello", "a/b",
                                    "10.0.0.1:1", why));
}
