// The read side against a real ZooKeeper: `resolve -c` lists exactly the children of
// /services/hello (the daemon's curator nodes and a go-kit registrar's "host:port" node), in each
// output; `watch` follows flips through ZooKeeper's watches, prints nothing for a write that
// changes no instance, and prints no empty set while the server restarts (a persistent entry
// stays through it, so every set printed must hold it).
#include <catch2/catch.hpp>
#include <csignal>
#include <nlohmann/json.hpp>

#include "discovery_itest.hpp"
#include "support/ports.hpp"
#include "zookeeper_itest.hpp"

using namespace registrar::itest;
using nlohmann::json;
using registrar::test::ZkTestClient;

namespace {

// A watch fires within a round trip; this is a loaded machine's scheduling plus a process start.
constexpr Millis kZkSeen = 5s;
const std::string kGoKitPath = "/services/hello/gokit-1";

ZkParams two_services(const ZooKeeperServer& zk, const HelloService& h1, const HelloService& h2) {
  ZkParams p;
  p.servers = zk.endpoint();
  ServiceEntry e1 = entry_for(h1, "hello-1");
  e1.tags = {"v1"};
  e1.meta = {{"zone", "a"}};
  p.services = {e1, entry_for(h2, "hello-2")};
  return p;
}

}  // namespace

TEST_CASE("discovery zookeeper: resolve lists the daemon's and a go-kit registrar's nodes",
          "[discovery]") {
  if (!have_zookeeper()) return;
  ZooKeeperServer zk;
  HelloService h1;
  HelloService h2;
  h2.set_serving(false);  // not registered: ZooKeeper holds passing services only
  Daemon daemon(zookeeper_manifest_yaml(two_services(zk, h1, h2)));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_node(zk.endpoint(), "/services/hello/hello-1", true, 10s));
  ZkTestClient client(zk.endpoint());
  REQUIRE(client.create(kGoKitPath, "127.0.0.1:6001"));
  REQUIRE(client.create("/services/hello/junk", "neither JSON nor host:port"));

  const std::string manifest = daemon.manifest_path().string();
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"resolve", "hello", "-c", manifest};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_registrar(args);
  };
  CommandResult r = run({"-o", "json"});
  INFO(r.err);
  CHECK(r.status.exited_with(0));
  const auto by_id = json_lines_by_id(r.out);
  REQUIRE(by_id.size() == 2);
  const json& one = by_id.at("hello-1");
  CHECK(one.at("address") == "127.0.0.1");
  CHECK(one.at("port") == h1.port());
  CHECK(one.at("tags") == json::array({"v1"}));
  CHECK(one.at("meta") == json{{"zone", "a"}});
  CHECK(one.at("health") == "passing");
  CHECK(by_id.at("gokit-1").at("port") == 6001);
  CHECK(r.err.find("junk") != std::string::npos);  // skipped, with a warning naming it
  const std::set<std::string> addrs{h1.target(), "127.0.0.1:6001"};
  CHECK(line_set(run({"-o", "addrs"}).out) == addrs);
  CHECK(line_set(run({"-o", "addrs", "--all"}).out) == addrs);
  CHECK(line_set(run({"-o", "addrs", "--tag", "v1"}).out) == std::set<std::string>{h1.target()});
  const CommandResult table = run({});
  CHECK(table.status.exited_with(0));
  CHECK(non_empty_lines(table.out).size() == 3);
  // --check: the go-kit entry points nowhere (no server on 6001) and is reported so.
  const auto checked = json_lines_by_id(run({"-o", "json", "--check"}).out);
  REQUIRE(checked.size() == 2);
  CHECK(checked.at("hello-1").at("check").at("status") == "SERVING");
  CHECK(checked.at("gokit-1").at("check").at("status") != "SERVING");
  // A service without a node: none, exit 1.
  r = run_registrar({"resolve", "nobody", "-c", manifest});
  CHECK(r.status.exited_with(1));
  CHECK(r.out.empty());
}

TEST_CASE("discovery zookeeper: watch follows flips through watches and the server's restart",
          "[discovery]") {
  if (!have_zookeeper()) return;
  ZooKeeperServer zk;
  HelloService hello;
  ZkParams p;
  p.servers = zk.endpoint();
  p.services = {entry_for(hello, "hello-1")};
  Daemon daemon(zookeeper_manifest_yaml(p));
  DumpOnFailure dump_daemon(daemon.process());
  REQUIRE(wait_for_node(zk.endpoint(), "/services/hello/hello-1", true, 10s));
  {
    ZkTestClient client(zk.endpoint());
    REQUIRE(client.create(kGoKitPath, "127.0.0.1:6001"));
  }
  const std::set<std::string> both{"gokit-1", "hello-1"};
  const std::set<std::string> gokit_only{"gokit-1"};
  WatchProcess watch({"watch", "hello", "-c", daemon.manifest_path().string(), "-o", "json"});
  DumpOnFailure dump_watch(watch.process());
  auto first = watch.wait_for_set(0, 10s);
  REQUIRE(first);
  CHECK(WatchProcess::ids(*first) == both);
  std::size_t seen = 1;
  for (int flip = 0; flip < 2; ++flip) {
    hello.set_serving(false);
    auto gone = watch.wait_for_set(seen++, kZkSeen);
    REQUIRE(gone);
    CHECK(WatchProcess::ids(*gone) == gokit_only);
    hello.set_serving(true);
    auto back = watch.wait_for_set(seen++, kZkSeen);
    REQUIRE(back);
    CHECK(WatchProcess::ids(*back) == both);
  }
  // Writes that change no instance (the same data again, a node beside the service's
  // children): the data watch fires, the set is the same, nothing is printed. Then a real change
  // (the flip below): the next set printed must be the flip's, so that nothing came before it.
  const std::size_t before_noop = watch.sets().size();
  {
    ZkTestClient client(zk.endpoint());
    REQUIRE(client.set(kGoKitPath, "127.0.0.1:6001"));
    REQUIRE(client.create("/services/other/x", "127.0.0.1:7"));
  }
  hello.set_serving(false);
  auto after_noop = watch.wait_for_set(before_noop, kZkSeen);
  REQUIRE(after_noop);
  CHECK(WatchProcess::ids(*after_noop) == gokit_only);
  CHECK(watch.sets().size() == before_noop + 1);  // the flip's set, and none before it
  hello.set_serving(true);
  auto restored = watch.wait_for_set(before_noop + 1, kZkSeen);
  REQUIRE(restored);
  CHECK(WatchProcess::ids(*restored) == both);

  // The server restarts (its data kept): the watch prints error events and no set that
  // lacks the persistent go-kit entry; then the daemon's node is there again.
  const std::size_t before_restart = watch.sets().size();
  zk.restart();
  REQUIRE(wait_until(
      [&] {
        const auto e = watch.sets();
        return !e.empty() && WatchProcess::ids(e.back()) == both &&
               watch.printed_error("ZooKeeper at");
      },
      20s));
  const auto after = watch.sets();
  for (std::size_t i = before_restart; i < after.size(); ++i) {
    INFO(after[i].dump());
    CHECK(WatchProcess::ids(after[i]).count("gokit-1") == 1);
  }
  watch.process().signal(SIGINT);
  const auto status = watch.process().wait_exit(10s);
  REQUIRE(status);
  CHECK(status->exited_with(0));
}

TEST_CASE("discovery zookeeper: no server, resolve exits 69 within --timeout", "[discovery]") {
  if (!have_zookeeper()) return;
  ZkParams p;
  p.servers = "127.0.0.1:" + std::to_string(registrar::test::free_port());  // nothing listens
  const ManifestFile manifest(zookeeper_manifest_yaml(p));
  const auto started = std::chrono::steady_clock::now();
  const CommandResult r =
      run_registrar({"resolve", "hello", "-c", manifest.path().string(), "--timeout", "1s"});
  const auto took = std::chrono::steady_clock::now() - started;
  INFO(r.err);
  CHECK(r.status.exited_with(69));
  CHECK(non_empty_lines(r.err).size() == 1);
  CHECK(r.err.find("ZooKeeper at") != std::string::npos);
  CHECK(took < 1s + 3s);  // --timeout, plus the process's start and exit on a loaded machine
}

TEST_CASE("discovery zookeeper: watch sees a service node created after it started",
          "[discovery]") {
  if (!have_zookeeper()) return;
  ZooKeeperServer zk;
  ZkParams p;
  p.servers = zk.endpoint();
  const ManifestFile manifest(zookeeper_manifest_yaml(p));
  WatchProcess watch({"watch", "fresh", "-c", manifest.path().string(), "-o", "json"});
  DumpOnFailure dump(watch.process());
  auto first = watch.wait_for_set(0, 10s);
  REQUIRE(first);
  CHECK(WatchProcess::ids(*first).empty());  // no node: no instances, truly
  ZkTestClient client(zk.endpoint());
  REQUIRE(client.create("/services/fresh/a", "127.0.0.1:7001"));  // the parents with it
  auto created = watch.wait_for_set(1, kZkSeen);
  REQUIRE(created);
  CHECK(WatchProcess::ids(*created) == std::set<std::string>{"a"});
  REQUIRE(client.create("/services/fresh/b", "127.0.0.1:7002"));
  auto added = watch.wait_for_set(2, kZkSeen);
  REQUIRE(added);
  CHECK(WatchProcess::ids(*added) == std::set<std::string>{"a", "b"});
}
