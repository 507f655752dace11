#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>

#include "support/etcd_server.hpp"
#include "support/etcdctl.hpp"
#include "support/ports.hpp"
#include "support/wait.hpp"

using namespace registrar::test;

TEST_CASE("etcdctl: base64 and lease id helpers", "[etcdctl]") {
  CHECK(base64_decode("L2EvYg==") == "/a/b");
  CHECK(base64_decode("eyJ4IjoxfQ==") == "{\"x\":1}");
  CHECK(base64_decode("") == "");
  CHECK(lease_hex(2324035580312537862) == "2040a20c09e5cb06");
}

TEST_CASE("etcd: starts on free loopback ports, put/get/del round-trip through etcdctl", "[etcd]") {
  EtcdServer etcd;
  REQUIRE(etcd.running());
  CHECK(etcd.endpoint() == "127.0.0.1:" + std::to_string(etcd.client_port()));
  CHECK(etcd.client_port() != etcd.peer_port());
  CHECK(port_accepts(etcd.client_port()));
  const Etcdctl ctl = etcd.ctl();
  CHECK(ctl.healthy());
  CHECK(ctl.get_all().empty());
  CHECK(ctl.revision() == 1);  // a fresh store

  ctl.put("/svc/a/1", R"({"x":1})");
  ctl.put("/svc/b/1", "-dash value with spaces");
  ctl.put("/other", "o");
  const auto a = ctl.get("/svc/a/1");
  REQUIRE(a.has_value());
  CHECK(a->value == R"({"x":1})");
  CHECK(a->lease == 0);
  CHECK_FALSE(ctl.get("/svc/missing").has_value());

  const auto svc = ctl.get_prefix("/svc/");
  REQUIRE(svc.size() == 2);
  CHECK(svc[0].key == "/svc/a/1");
  CHECK(svc[0].value == R"({"x":1})");
  CHECK(svc[1].key == "/svc/b/1");
  CHECK(svc[1].value == "-dash value with spaces");
  CHECK(svc[1].lease == 0);
  CHECK(svc[1].version == 1);
  CHECK(svc[1].create_revision == svc[0].create_revision + 1);
  CHECK(ctl.revision() == svc[1].mod_revision + 1);  // "/other" was written last
  CHECK(ctl.get_all().size() == 3);
  CHECK(ctl.get_prefix("").size() == 3);

  ctl.put("/svc/b/1", "rewritten");
  const auto b = ctl.get("/svc/b/1");
  REQUIRE(b.has_value());
  CHECK(b->version == 2);
  CHECK(b->mod_revision > svc[1].mod_revision);
  CHECK(b->create_revision == svc[1].create_revision);

  CHECK(ctl.del("/svc/a/1") == 1);
  CHECK(ctl.del("/svc/a/1") == 0);
  CHECK(ctl.get_prefix("/svc/").size() == 1);
}

TEST_CASE("etcd: leases through etcdctl: grant, attach, list, ttl, revoke", "[etcd]") {
  EtcdServer etcd;
  const Etcdctl ctl = etcd.ctl();
  CHECK(ctl.lease_list().empty());
  const std::int64_t lease = ctl.lease_grant(30);
  REQUIRE(lease != 0);
  ctl.put("/l/k1", "v1", lease);
  ctl.put("/l/k2", "v2", lease);
  const auto kvs = ctl.get_prefix("/l/");
  REQUIRE(kvs.size() == 2);
  CHECK(kvs[0].lease == lease);
  CHECK(kvs[1].lease == lease);
  CHECK(ctl.lease_list() == std::vector<std::int64_t>{lease});
  const LeaseTtl ttl = ctl.lease_ttl(lease);
  CHECK(ttl.granted_ttl == 30);
  CHECK(ttl.ttl > 0);
  CHECK(ttl.ttl <= 30);
  auto keys = ttl.keys;
  std::sort(keys.begin(), keys.end());
  CHECK(keys == std::vector<std::string>{"/l/k1", "/l/k2"});
  CHECK(ctl.lease_ttl(lease + 1).ttl == -1);  // unknown lease

  ctl.lease_revoke(lease);
  CHECK(ctl.lease_list().empty());
  CHECK(ctl.get_prefix("/l/").empty());
}

TEST_CASE("etcd: kill9 + restart keeps data and ports, wipe_and_restart starts empty", "[etcd]") {
  EtcdServer etcd;
  const std::string endpoint = etcd.endpoint();
  const auto data_dir = etcd.data_dir();
  etcd.ctl().put("/persist", "yes");

  etcd.kill9();
  CHECK_FALSE(etcd.running());
  CHECK_FALSE(Etcdctl(etcd.endpoint(), 500ms).healthy());
  CHECK_THROWS(Etcdctl(endpoint, 500ms).get("/persist"));

  etcd.restart();
  REQUIRE(etcd.running());
  CHECK(etcd.endpoint() == endpoint);
  const auto v = etcd.ctl().get("/persist");
  REQUIRE(v.has_value());
  CHECK(v->value == "yes");

  etcd.wipe_and_restart();
  REQUIRE(etcd.running());
  CHECK(etcd.endpoint() == endpoint);
  CHECK(etcd.ctl().get_all().empty());
  CHECK(std::filesystem::exists(data_dir));
}

TEST_CASE("etcd: stop() ends etcd with SIGTERM and removes the data dir on destruction", "[etcd]") {
  std::filesystem::path data_dir;
  {
    EtcdServer etcd;
    data_dir = etcd.data_dir();
    REQUIRE(std::filesystem::exists(data_dir));
    const ExitStatus st = etcd.stop();
    INFO("etcd ended with " << st.describe());
    CHECK_FALSE(etcd.running());
    CHECK_FALSE(st.killed_by(SIGKILL));  // it ended on SIGTERM, not on our fallback kill
    CHECK(wait_until([&] { return !port_accepts(etcd.client_port()); }, 10s));
  }
  CHECK_FALSE(std::filesystem::exists(data_dir));
}

TEST_CASE("etcd: a deferred start and a stopped server report not running", "[etcd]") {
  EtcdServer etcd(false);
  CHECK_FALSE(etcd.running());
  CHECK(etcd.process() == nullptr);
  CHECK_FALSE(Etcdctl(etcd.endpoint(), 500ms).healthy());
  etcd.start();
  CHECK(etcd.running());
  CHECK(etcd.ctl().healthy());
}
