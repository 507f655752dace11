// The read side against the Consul agent double: `resolve` lists exactly what the agent's
// health endpoint holds (passing only by default, every instance with --all, tags); `watch`
// follows health flips through blocking queries, resets its index when a snapshot restore sends
// it backwards (without printing a set), and finds the set again after the agent loses its
// state; --exec runs once per change.
#include <catch2/catch.hpp>
#include <csignal>
#include <nlohmann/json.hpp>

#include "consul_itest.hpp"
#include "discovery_itest.hpp"

using namespace registrar::itest;
using nlohmann::json;
using registrar::test::ConsulDouble;

namespace {

ServiceEntry consul_entry(const HelloService& hello, const std::string& id,
                          std::vector<std::string> tags) {
  ServiceEntry e = entry_for(hello, id);
  e.tags = std::move(tags);
  e.meta = {{"zone", "a"}};
  return e;
}

}  // namespace

TEST_CASE("discovery consul: resolve lists what the agent holds, passing only unless --all",
          "[discovery]") {
  if (!have_consul_double()) return;
  ConsulDouble consul;
  HelloService h1;
  HelloService h2;
  h2.set_serving(false);
  ConsulParams p;
  p.address = consul.address();
  p.services = {consul_entry(h1, "hello-1", {"v1"}), consul_entry(h2, "hello-2", {"v2"})};
  Daemon daemon(consul_manifest_yaml(p));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_check(consul, "grpc-registrar:hello-1", "passing",
                         std::chrono::steady_clock::now()));
  REQUIRE(wait_for_check(consul, "grpc-registrar:hello-2", "critical",
                         std::chrono::steady_clock::now()));

  const std::vector<std::string> base{"resolve", "hello", "--consul", consul.address()};
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return run_registrar(args);
  };
  CommandResult r = run({"-o", "json"});
  INFO(r.err);
  CHECK(r.status.exited_with(0));
  auto by_id = json_lines_by_id(r.out);
  REQUIRE(by_id.size() == 1);
  const json& one = by_id.at("hello-1");
  CHECK(one.at("address") == "127.0.0.1");
  CHECK(one.at("port") == h1.port());
  CHECK(one.at("tags") == json::array({"v1"}));
  CHECK(one.at("meta").at("zone") == "a");
  CHECK(one.at("health") == "passing");
  // The same as the agent's own answer to ?passing.
  CHECK(consul.health_service("hello", true).size() == 1);

  r = run({"-o", "json", "--all"});
  by_id = json_lines_by_id(r.out);
  REQUIRE(by_id.size() == 2);
  CHECK(by_id.at("hello-2").at("health") == "critical");
  CHECK(line_set(run({"-o", "addrs", "--all"}).out) ==
        std::set<std::string>{h1.target(), h2.target()});
  CHECK(line_set(run({"-o", "addrs", "--all", "--tag", "V2"}).out) ==
        std::set<std::string>{h2.target()});
  const CommandResult from_manifest =
      run_registrar({"resolve", "hello", "-c", daemon.manifest_path().string(), "-o", "addrs"});
  CHECK(line_set(from_manifest.out) == std::set<std::string>{h1.target()});
  // --check on every instance, NOT_SERVING reported as such.
  r = run({"-o", "json", "--all", "--check"});
  by_id = json_lines_by_id(r.out);
  REQUIRE(by_id.size() == 2);
  CHECK(by_id.at("hello-1").at("check").at("status") == "SERVING");
  CHECK(by_id.at("hello-2").at("check").at("status") == "NOT_SERVING");
}

TEST_CASE(
    "discovery consul: watch follows flips through blocking queries and the agent's "
    "restart",
    "[discovery]") {
  if (!have_consul_double()) return;
  ConsulDouble consul;
  HelloService hello;
  ConsulParams p;
  p.address = consul.address();
  p.services = {consul_entry(hello, "hello-1", {})};
  Daemon daemon(consul_manifest_yaml(p));
  DumpOnFailure dump_daemon(daemon.process());
  REQUIRE(wait_for_check(consul, "grpc-registrar:hello-1", "passing",
                         std::chrono::steady_clock::now()));
  WatchProcess watch({"watch", "hello", "--consul", consul.address(), "-o", "json"});
  DumpOnFailure dump_watch(watch.process());
  auto first = watch.wait_for_event(0, 10s);
  REQUIRE(first);
  CHECK(WatchProcess::ids(*first) == std::set<std::string>{"hello-1"});
  std::size_t seen = 1;
  for (int flip = 0; flip < 2; ++flip) {
    hello.set_serving(false);
    auto gone = watch.wait_for_event(seen++, 10s);
    REQUIRE(gone);
    CHECK(WatchProcess::ids(*gone).empty());
    hello.set_serving(true);
    auto back = watch.wait_for_event(seen++, 10s);
    REQUIRE(back);
    CHECK(WatchProcess::ids(*back) == std::set<std::string>{"hello-1"});
  }
  // TTL refreshes write the catalog too (the index moves) but change nothing the watch shows:
  // several of them pass in this second without an event.
  std::this_thread::sleep_for(1s);
  CHECK(watch.events().size() == seen);
  // A snapshot restore (the double's /_double/restore): the same catalog at a lower index, the
  // blocking query in flight answered at once with it. The watch resets its index (Consul's
  // rule) and prints nothing, since the set is the same; above all no empty set. A watch that
  // kept waiting on its old index would miss the next flip until its 30 s wait ran out, so the
  // flip after it must show within the bound of the flips above.
  consul.restore_resetting_index();
  std::this_thread::sleep_for(1s);
  CHECK(watch.events().size() == seen);
  hello.set_serving(false);
  auto after_restore = watch.wait_for_event(seen++, 10s);
  REQUIRE(after_restore);
  CHECK(WatchProcess::ids(*after_restore).empty());
  hello.set_serving(true);
  auto back_after_restore = watch.wait_for_event(seen++, 10s);
  REQUIRE(back_after_restore);
  CHECK(WatchProcess::ids(*back_after_restore) == std::set<std::string>{"hello-1"});
  // The agent loses its state (the double's /_double/restart: services and checks wiped, its
  // index kept); the daemon registers again, and the watch shows the set again.
  consul.restart_wiping_state();
  const bool again = wait_until(
      [&] {
        const auto events = watch.events();
        return events.size() > seen &&
               WatchProcess::ids(events.back()) == std::set<std::string>{"hello-1"};
      },
      15s);
  CHECK(again);
  watch.process().signal(SIGINT);
  const auto status = watch.process().wait_exit(10s);
  REQUIRE(status);
  INFO(status->describe());
  CHECK(status->exited_with(0));
}
