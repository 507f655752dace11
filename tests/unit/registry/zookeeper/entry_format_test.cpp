// The four ZooKeeper entry formats, byte for byte as their readers expect them, and each one's
// decode reading back exactly what encode wrote.
#include "registry/zookeeper/entry_format.hpp"

#include <catch2/catch.hpp>

using namespace registrar::registry;
using namespace registrar::registry::zookeeper;
using registrar::config::ZooKeeperFormat;

namespace {

Registration hello() {
  Registration r;
  r.name = "hello";
  r.id = "hello-1";
  r.address = "10.0.0.7";
  r.port = 50051;
  r.tags = {"v1", "blue"};
  r.meta = {{"zone", "a"}};
  r.health = Health::Passing;
  return r;
}

}  // namespace

TEST_CASE("zookeeper format curator: Curator's ServiceInstance JSON, Spring's payload") {
  const Entry e = encode(ZooKeeperFormat::Curator, "/services", hello(), 1700000000000);
  CHECK(e.path == "/services/hello/hello-1");
  // Field order and nulls as Curator 5.4's JsonInstanceSerializer writes them (checked against
  // Debian's libcurator-discovery-java); the payload as Spring Cloud Zookeeper's
  // ZookeeperInstance is written, with the gRPC port where grpc-spring reads it.
  CHECK(e.data ==
        R"({"name":"hello","id":"hello-1","address":"10.0.0.7","port":50051,"sslPort":null,)"
        R"("payload":{"@class":"org.springframework.cloud.zookeeper.discovery.ZookeeperInstance",)"
        R"("id":"hello-1","name":"hello","metadata":{"zone":"a","gRPC_port":"50051",)"
        R"("tags":"v1,blue"}},"registrationTimeUTC":1700000000000,"serviceType":"DYNAMIC",)"
        R"("uriSpec":null})");
  const auto d = decode(ZooKeeperFormat::Curator, "/services", e.path, e.data);
  REQUIRE(d);
  CHECK(d->name == "hello");
  CHECK(d->id == "hello-1");
  CHECK(d->address == "10.0.0.7");
  CHECK(d->port == 50051);
  CHECK(d->tags == std::vector<std::string>{"v1", "blue"});
  CHECK(d->meta == std::map<std::string, std::string>{{"zone", "a"}});
  CHECK(d->registration_ms == 1700000000000);
}

TEST_CASE("zookeeper format gokit: host:port, also for IPv6") {
  const Entry e = encode(ZooKeeperFormat::GoKit, "/sd", hello(), 0);
  CHECK(e.path == "/sd/hello/hello-1");
  CHECK(e.data == "10.0.0.7:50051");
  Registration v6 = hello();
  v6.address = "fd00::1";
  CHECK(gokit_data(v6) == "[fd00::1]:50051");
  const auto d = decode(ZooKeeperFormat::GoKit, "/sd", "/sd/hello/hello-1", "[fd00::1]:50051");
  REQUIRE(d);
  CHECK(d->address == "fd00::1");
  CHECK(d->port == 50051);
  CHECK_FALSE(decode(ZooKeeperFormat::GoKit, "/sd", "/sd/hello/x", "10.0.0.7"));
  CHECK_FALSE(decode(ZooKeeperFormat::GoKit, "/sd", "/sd/hello/x", "10.0.0.7:0"));
  CHECK_FALSE(decode(ZooKeeperFormat::GoKit, "/sd", "/sd/hello/x", "10.0.0.7:70000"));
}

TEST_CASE("zookeeper format serverset: a member_ node of Finagle's JSON") {
  const Entry e = encode(ZooKeeperFormat::Serverset, "/aurora", hello(), 0);
  CHECK(e.path == "/aurora/hello/member_hello-1");
  CHECK(e.data == R"({"serviceEndpoint":{"host":"10.0.0.7","port":50051},"additionalEndpoints":{},)"
                  R"("status":"ALIVE"})");
  const auto d = decode(ZooKeeperFormat::Serverset, "/aurora", e.path, e.data);
  REQUIRE(d);
  CHECK(d->id == "hello-1");
  CHECK(d->port == 50051);
  // Readers take member_* children only.
  CHECK_FALSE(decode(ZooKeeperFormat::Serverset, "/aurora", "/aurora/hello/hello-1", e.data));
}

TEST_CASE("zookeeper format nerve: {host, port, name} as nerve writes it") {
  const Entry e = encode(ZooKeeperFormat::Nerve, "/nerve", hello(), 0);
  CHECK(e.path == "/nerve/hello/hello-1");
  CHECK(e.data == R"({"host":"10.0.0.7","port":50051,"name":"hello-1"})");
  const auto d = decode(ZooKeeperFormat::Nerve, "/nerve", e.path, e.data);
  REQUIRE(d);
  CHECK(d->address == "10.0.0.7");
  CHECK(d->name == "hello");
}

TEST_CASE("zookeeper decode: paths and data that are not an entry") {
  for (auto f : {ZooKeeperFormat::Curator, ZooKeeperFormat::Nerve, ZooKeeperFormat::Serverset}) {
    CHECK_FALSE(decode(f, "/s", "/s/a/member_b", "not json"));
    CHECK_FALSE(decode(f, "/s", "/s/a/member_b", "[1]"));
    CHECK_FALSE(decode(f, "/s", "/other/a/member_b", "{}"));
    CHECK_FALSE(decode(f, "/s", "/s/a", "{}"));
    CHECK_FALSE(decode(f, "/s", "/s/a/b/c", "{}"));
  }
  CHECK_FALSE(decode(ZooKeeperFormat::Nerve, "/s", "/s/a/b", R"({"host":"h","port":"80"})"));
}
