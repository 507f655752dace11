// The ZooKeeper fixture against Debian's real server: what the backend's tests rely on.
#include <catch2/catch.hpp>
#include <filesystem>

#include "support/require.hpp"
#include "support/wait.hpp"
#include "support/zk_test_client.hpp"
#include "support/zookeeper_server.hpp"

using namespace registrar::test;

namespace {

bool zookeeper_available() {
  return need(zookeeper_classpath().has_value(),
              "ZooKeeper not found at " + zookeeper_jar() +
                  " (apt-get install zookeeper, or $REGISTRAR_TEST_ZOOKEEPER_JAR)");
}

}  // namespace

TEST_CASE("zookeeper: starts on a free loopback port, nodes survive a restart, not a wipe",
          "[zookeeper]") {
  if (!zookeeper_available()) return;
  ZooKeeperServer zk;
  REQUIRE(zk.running());
  CHECK(zk.four_letter("ruok") == "imok");
  CHECK(std::filesystem::exists(zk.data_dir()));
  const auto before = zk.last_zxid();
  REQUIRE(before.has_value());
  {
    ZkTestClient c(zk.endpoint());
    CHECK(c.create("/a/b", "x"));
    CHECK_FALSE(c.create("/a/b", "y"));
    CHECK(c.get("/a/b")->data == "x");
    CHECK(c.get("/a/b")->ephemeral_owner == 0);
    CHECK(c.children("/a") == std::vector<std::string>{"b"});
    CHECK(c.children("/none").empty());
  }
  CHECK(*zk.last_zxid() > *before);  // the writes counted by the server itself

  zk.kill9();
  CHECK_FALSE(zk.running());
  CHECK(zk.four_letter("ruok").empty());
  zk.restart();
  CHECK(ZkTestClient(zk.endpoint()).get("/a/b")->data == "x");

  zk.wipe_and_restart();
  CHECK_FALSE(ZkTestClient(zk.endpoint()).get("/a/b").has_value());
}

TEST_CASE("zookeeper: an ephemeral node goes with its session, also one expired from outside",
          "[zookeeper]") {
  if (!zookeeper_available()) return;
  ZooKeeperServer zk;
  ZkTestClient reader(zk.endpoint());
  {
    ZkTestClient owner(zk.endpoint());
    REQUIRE(owner.create("/e/n", "1", /*ephemeral=*/true));
    CHECK(reader.get("/e/n")->ephemeral_owner == owner.session_id());
  }
  // Closing the session deletes it at once, as the server applies the close; a close that does
  // not land (seen on a loaded machine) leaves it to the session's expiry: bounded by the
  // client's session timeout (ZkTestClient's default, 10 s) plus slack.
  CHECK(wait_until([&] { return !reader.get("/e/n").has_value(); }, 15s, 20ms));

  ZkTestClient victim(zk.endpoint());
  REQUIRE(victim.create("/e/v", "2", /*ephemeral=*/true));
  ZkTestClient::expire(zk.endpoint(), victim.session_id(), victim.session_passwd());
  // The close of the session is the server's to apply: the reader, another session, may read
  // before it has. `victim` still holds its handle and pings, so only the expiry removes the
  // node; 5 s is far above the server's processing of one closeSession, even on a loaded machine.
  CHECK(wait_until([&] { return !reader.get("/e/v").has_value(); }, 5s, 20ms));
}

TEST_CASE("zookeeper: a three-server ensemble replicates, and serves with one member down",
          "[zookeeper]") {
  if (!zookeeper_available()) return;
  ZooKeeperEnsemble ensemble;
  REQUIRE(ensemble.size() == 3);
  ZkTestClient(ensemble.member(0).endpoint()).create("/r", "1");
  // A follower applies a committed write once the leader tells it to: soon, not at once.
  ZkTestClient follower(ensemble.member(2).endpoint());
  CHECK(wait_until(
      [&] {
        const auto n = follower.get("/r");
        return n && n->data == "1";
      },
      5s));
  ensemble.member(0).kill9();
  CHECK(ZkTestClient(ensemble.connect_string()).get("/r")->data == "1");
}
