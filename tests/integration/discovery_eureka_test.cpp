// The read side against the Eureka server double: `resolve -c` lists exactly what GET
// /eureka/apps/HELLO holds (UP only unless --all, the gRPC_port), in each output; `watch` polls,
// prints a new set after each flip and nothing for heartbeats, prints no set while the server is
// down, and finds the set again after the server restarts without state (an empty set in
// between is what the registry really held until the daemon registered again).
#include <catch2/catch.hpp>
#include <csignal>
#include <nlohmann/json.hpp>

#include "discovery_itest.hpp"
#include "support/eureka_double.hpp"
#include "support/paths.hpp"
#include "support/require.hpp"

using namespace registrar::itest;
using nlohmann::json;
using registrar::test::EurekaDouble;

namespace {

// The reader polls every second (discovery/poller.hpp) and the double's response cache, like
// Eureka's, is refreshed every 100 ms here; plus a loaded machine's scheduling.
constexpr Millis kEurekaSeen = 1s + 100ms + 4s;

bool have_eureka() {
  return registrar::test::need(registrar::test::eureka_double_bin().has_value(),
                               "eureka-double not found (target eureka_double, built with go, "
                               "or $REGISTRAR_TEST_EUREKA_DOUBLE_BIN)") &&
         have_binaries();
}

std::string eureka_yaml(const EurekaDouble& eureka, const std::vector<ServiceEntry>& services) {
  std::string yaml = "registry:\n  kind: eureka\n  eureka:\n    urls: [\"" + eureka.url() +
                     "\"]\n"
                     "    renewal_interval: 1s\n    lease_duration: 2s\n"
                     "    request_timeout: 300ms\n"
                     "  backoff: {initial: 50ms, max: 400ms}\n"
                     "defaults:\n  probe: {mode: watch, interval: 100ms, timeout: 1s}\n"
                     "services:\n";
  for (const ServiceEntry& s : services)
    yaml += "  - {name: " + s.name + ", id: " + s.id + ", address: " + s.address +
            ", port: " + std::to_string(s.port) + ", meta: {zone: a}}\n";
  return yaml + "shutdown_timeout: 5s\n";
}

registrar::test::EurekaDoubleOptions fast_cache() {
  registrar::test::EurekaDoubleOptions o;
  o.cache_update_interval = "100ms";
  return o;
}

}  // namespace

TEST_CASE("discovery eureka: resolve lists what the server holds, UP only unless --all",
          "[discovery]") {
  if (!have_eureka()) return;
  EurekaDouble eureka(fast_cache());
  HelloService h1;
  HelloService h2;
  h2.set_serving(false);
  Daemon daemon(eureka_yaml(eureka, {entry_for(h1, "hello-1"), entry_for(h2, "hello-2")}));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_until(
      [&] {
        const auto a = eureka.instance("HELLO", "hello-1");
        const auto b = eureka.instance("HELLO", "hello-2");
        return a && b && a->at("status") == "UP" && b->at("status") == "DOWN";
      },
      10s));
  const std::string manifest = daemon.manifest_path().string();
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"resolve", "hello", "-c", manifest};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_registrar(args);
  };
  // The response cache shows both within its refresh.
  REQUIRE(wait_until(
      [&] {
        return json_lines_by_id(run({"-o", "json", "--all"}).out).size() == 2;
      },
      kEurekaSeen));
  CommandResult r = run({"-o", "json"});
  INFO(r.err);
  CHECK(r.status.exited_with(0));
  auto by_id = json_lines_by_id(r.out);
  REQUIRE(by_id.size() == 1);
  const json& one = by_id.at("hello-1");
  CHECK(one.at("address") == "127.0.0.1");
  CHECK(one.at("port") == h1.port());
  CHECK(one.at("health") == "passing");
  CHECK(one.at("meta").at("zone") == "a");
  CHECK(one.at("meta").at("gRPC_port") == std::to_string(h1.port()));
  by_id = json_lines_by_id(run({"-o", "json", "--all"}).out);
  REQUIRE(by_id.size() == 2);
  CHECK(by_id.at("hello-2").at("health") == "critical");
  CHECK(line_set(run({"-o", "addrs", "--all"}).out) ==
        std::set<std::string>{h1.target(), h2.target()});
  const CommandResult table = run({});
  CHECK(table.status.exited_with(0));
  CHECK(non_empty_lines(table.out).size() == 2);  // the header and hello-1
  CHECK(table.out.find("hello-1") != std::string::npos);
  // --check reports the NOT_SERVING instance as such.
  by_id = json_lines_by_id(run({"-o", "json", "--all", "--check"}).out);
  REQUIRE(by_id.size() == 2);
  CHECK(by_id.at("hello-1").at("check").at("status") == "SERVING");
  CHECK(by_id.at("hello-2").at("check").at("status") == "NOT_SERVING");
  // An application Eureka does not know: none, exit 1.
  r = run_registrar({"resolve", "nobody", "-c", manifest});
  CHECK(r.status.exited_with(1));
  CHECK(r.out.empty());
}

TEST_CASE("discovery eureka: watch follows flips by polling, survives the server's restarts",
          "[discovery]") {
  if (!have_eureka()) return;
  EurekaDouble eureka(fast_cache());
  HelloService hello;
  Daemon daemon(eureka_yaml(eureka, {entry_for(hello, "hello-1")}));
  DumpOnFailure dump_daemon(daemon.process());
  WatchProcess watch({"watch", "hello", "-c", daemon.manifest_path().string(), "-o", "json"});
  DumpOnFailure dump_watch(watch.process());
  // The first set may be empty (the daemon not registered yet); then hello-1.
  REQUIRE(wait_until(
      [&] {
        const auto e = watch.sets();
        return !e.empty() && WatchProcess::ids(e.back()) == std::set<std::string>{"hello-1"};
      },
      10s));
  std::size_t seen = watch.sets().size();
  for (int flip = 0; flip < 2; ++flip) {
    hello.set_serving(false);
    auto gone = watch.wait_for_set(seen++, kEurekaSeen);
    REQUIRE(gone);
    CHECK(WatchProcess::ids(*gone).empty());
    hello.set_serving(true);
    auto back = watch.wait_for_set(seen++, kEurekaSeen);
    REQUIRE(back);
    CHECK(WatchProcess::ids(*back) == std::set<std::string>{"hello-1"});
  }
  // Heartbeats every second write the lease but change nothing a reader sees: no event.
  std::this_thread::sleep_for(2500ms);
  CHECK(watch.sets().size() == seen);

  // The server down: error events, no set (above all no empty one).
  eureka.stop();
  // Polled every second: an error event within a few polls (10 s on a loaded machine), and
  // no set meanwhile.
  CHECK(wait_until([&] { return watch.printed_error("Eureka server at"); }, 10s));
  CHECK(watch.sets().size() == seen);
  // Back, without state: an empty set may show (the server really holds none until the
  // daemon's next heartbeat registers again, and any Eureka client sees that too), then hello-1
  // again, or nothing at all when no poll fell in that gap. Then the same after a restart of the
  // server's state alone. Every set printed is one of those two, and the watch still follows: a
  // flip after each shows.
  const std::set<std::string> up{"hello-1"};
  auto registered_again = [&] {
    return wait_until(
        [&] {
          const auto i = eureka.instance("HELLO", "hello-1");
          return i && i->at("status") == "UP";
        },
        15s);
  };
  auto follows_a_flip = [&] {
    // The watch shows the instance again first (its next poll), then the flip.
    REQUIRE(wait_until(
        [&] {
          const auto e = watch.sets();
          return !e.empty() && WatchProcess::ids(e.back()) == up;
        },
        kEurekaSeen));
    const std::size_t before = watch.sets().size();
    hello.set_serving(false);
    REQUIRE(wait_until(
        [&] {
          const auto e = watch.sets();
          return e.size() > before && WatchProcess::ids(e.back()).empty();
        },
        kEurekaSeen));
    hello.set_serving(true);
    REQUIRE(wait_until(
        [&] {
          const auto e = watch.sets();
          return e.size() > before + 1 && WatchProcess::ids(e.back()) == up;
        },
        kEurekaSeen));
  };
  eureka.start();
  REQUIRE(registered_again());
  follows_a_flip();
  eureka.restart_wiping_state();
  REQUIRE(registered_again());
  follows_a_flip();
  const auto sets = watch.sets();
  for (std::size_t i = seen; i < sets.size(); ++i) {
    INFO(sets[i].dump());
    CHECK((WatchProcess::ids(sets[i]).empty() || WatchProcess::ids(sets[i]) == up));
  }
  watch.process().signal(SIGTERM);
  const auto status = watch.process().wait_exit(10s);
  REQUIRE(status);
  CHECK(status->exited_with(0));
}
