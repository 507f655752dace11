// The read side against the Nacos double: `resolve -c` lists exactly what
// /nacos/v1/ns/instance/list holds (the daemon's instances and one another client registered;
// healthy only unless --all), in each output, logged in when auth is on; `watch` polls, prints a
// new set after each flip and nothing for beats, prints no set while the server is down, and
// finds the set again after the server restarts without state.
#include <catch2/catch.hpp>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>

#include "discovery_itest.hpp"
#include "nacos_itest.hpp"
#include "support/ports.hpp"
#include "support/temp_dir.hpp"

using namespace registrar::itest;
using nlohmann::json;
using registrar::test::NacosDouble;

namespace {

// The reader polls every second (discovery/poller.hpp); plus a loaded machine's scheduling.
constexpr Millis kNacosSeen = 1s + 4s;

// Nacos's instance id: ip#port#cluster#group@@service.
std::string id_of(std::uint16_t port, const std::string& ip = "127.0.0.1") {
  return ip + "#" + std::to_string(port) + "#DEFAULT#DEFAULT_GROUP@@hello";
}

}  // namespace

TEST_CASE("discovery nacos: resolve lists what the server holds, with auth, healthy only",
          "[discovery]") {
  if (!have_nacos_double()) return;
  registrar::test::TempDir dir("discovery-nacos");
  const std::string password_file = (dir.path() / "password").string();
  std::ofstream(password_file) << "n4cos-pw\n";
  NacosDouble nacos({.time_scale = 0.1, .user = "registrar", .password = "n4cos-pw"});
  HelloService h1;
  NacosParams p;
  p.servers = {nacos.host_port()};
  p.username = "registrar";
  p.password_file = password_file;
  ServiceEntry e = entry_for(h1, "hello-1");
  e.meta = {{"zone", "a"}};
  p.services = {e};
  Daemon daemon(nacos_manifest_yaml(p));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_ports(nacos, "hello", {h1.port()}, true, std::chrono::steady_clock::now()));
  // Another client's instance, registered unhealthy (a persistent-style registration through the
  // Open API, as an operator's script might): listed with --all only.
  const auto login =
      nacos.http().request("POST", "/nacos/v1/auth/login?username=registrar&password=n4cos-pw");
  REQUIRE(login.status == 200);
  const std::string token = json::parse(login.body).at("accessToken");
  const auto other = nacos.http().request(
      "POST",
      "/nacos/v1/ns/instance?serviceName=hello&ip=127.0.0.2&port=7002&healthy=false"
      "&ephemeral=false&accessToken=" +
          token);
  REQUIRE(other.status == 200);

  const std::string manifest = daemon.manifest_path().string();
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"resolve", "hello", "-c", manifest};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_registrar(args);
  };
  CommandResult r = run({"-o", "json"});
  INFO(r.err);
  CHECK(r.status.exited_with(0));
  auto by_id = json_lines_by_id(r.out);
  REQUIRE(by_id.size() == 1);
  const json& one = by_id.at(id_of(h1.port()));
  CHECK(one.at("address") == "127.0.0.1");
  CHECK(one.at("port") == h1.port());
  CHECK(one.at("health") == "passing");
  CHECK(one.at("meta").at("zone") == "a");
  CHECK(line_set(run({"-o", "addrs"}).out) == std::set<std::string>{h1.target()});
  by_id = json_lines_by_id(run({"-o", "json", "--all"}).out);
  REQUIRE(by_id.size() == 2);
  CHECK(by_id.at(id_of(7002, "127.0.0.2")).at("health") == "critical");
  const CommandResult table = run({});
  CHECK(table.status.exited_with(0));
  CHECK(non_empty_lines(table.out).size() == 2);
  // The password never shows.
  CHECK(r.err.find("n4cos-pw") == std::string::npos);
  // Without credentials the server refuses: one line, exit 69.
  NacosParams anonymous = p;
  anonymous.username.clear();
  const ManifestFile no_auth(nacos_manifest_yaml(anonymous));
  r = run_registrar({"resolve", "hello", "-c", no_auth.path().string()});
  CHECK(r.status.exited_with(69));
  CHECK(non_empty_lines(r.err).size() == 1);
  CHECK(r.err.find("registry.nacos.username") != std::string::npos);
}

TEST_CASE("discovery nacos: watch follows flips by polling, survives the server's restarts",
          "[discovery]") {
  if (!have_nacos_double()) return;
  NacosDouble nacos({.time_scale = 0.1});
  HelloService hello;
  NacosParams p;
  p.servers = {nacos.host_port()};
  p.services = {entry_for(hello, "hello-1")};
  Daemon daemon(nacos_manifest_yaml(p));
  DumpOnFailure dump_daemon(daemon.process());
  const std::set<std::string> up{id_of(hello.port())};
  WatchProcess watch({"watch", "hello", "-c", daemon.manifest_path().string(), "-o", "json"});
  DumpOnFailure dump_watch(watch.process());
  REQUIRE(wait_until(
      [&] {
        const auto e = watch.sets();
        return !e.empty() && WatchProcess::ids(e.back()) == up;
      },
      10s));
  std::size_t seen = watch.sets().size();
  for (int flip = 0; flip < 2; ++flip) {
    hello.set_serving(false);
    auto gone = watch.wait_for_set(seen++, kNacosSeen);
    REQUIRE(gone);
    CHECK(WatchProcess::ids(*gone).empty());
    hello.set_serving(true);
    auto back = watch.wait_for_set(seen++, kNacosSeen);
    REQUIRE(back);
    CHECK(WatchProcess::ids(*back) == up);
  }
  // Beats every 500 ms change nothing a reader sees: no event.
  std::this_thread::sleep_for(2500ms);
  CHECK(watch.sets().size() == seen);

  // The server down: error events, no set (above all no empty one).
  nacos.kill();
  // Polled every second: an error event within a few polls (10 s on a loaded machine), and
  // no set meanwhile.
  CHECK(wait_until([&] { return watch.printed_error("Nacos server at"); }, 10s));
  CHECK(watch.sets().size() == seen);
  // Back (a new process, so without state), then its state wiped: an empty set may show each
  // time (the server really holds none until the daemon's next beat registers again, and any
  // Nacos client sees that too), then the instance again, or nothing when no poll fell in that
  // gap. Every set printed is one of those two, and the watch still follows: a flip after each
  // shows.
  auto registered_again = [&] {
    return wait_for_ports(nacos, "hello", {hello.port()}, true, std::chrono::steady_clock::now(),
                          15s)
        .has_value();
  };
  auto follows_a_flip = [&] {
    // The watch shows the instance again first (its next poll), then the flip.
    REQUIRE(wait_until(
        [&] {
          const auto e = watch.sets();
          return !e.empty() && WatchProcess::ids(e.back()) == up;
        },
        kNacosSeen));
    const std::size_t before = watch.sets().size();
    hello.set_serving(false);
    REQUIRE(wait_until(
        [&] {
          const auto e = watch.sets();
          return e.size() > before && WatchProcess::ids(e.back()).empty();
        },
        kNacosSeen));
    hello.set_serving(true);
    REQUIRE(wait_until(
        [&] {
          const auto e = watch.sets();
          return e.size() > before + 1 && WatchProcess::ids(e.back()) == up;
        },
        kNacosSeen));
  };
  nacos.start();
  REQUIRE(registered_again());
  follows_a_flip();
  nacos.restart_wiping_state();
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

TEST_CASE("discovery nacos and eureka: no server, resolve exits 69 within --timeout",
          "[discovery]") {
  if (!have_nacos_double()) return;
  const std::string closed = "127.0.0.1:" + std::to_string(registrar::test::free_port());
  NacosParams p;
  p.servers = {closed};
  const ManifestFile nacos_manifest(nacos_manifest_yaml(p));
  const ManifestFile eureka_manifest("registry:\n  kind: eureka\n  eureka:\n    urls: [\"http://" +
                                     closed + "/eureka\"]\nservices: []\n");
  for (const ManifestFile* m : {&nacos_manifest, &eureka_manifest}) {
    const auto started = std::chrono::steady_clock::now();
    const CommandResult r =
        run_registrar({"resolve", "hello", "-c", m->path().string(), "--timeout", "1s"});
    const auto took = std::chrono::steady_clock::now() - started;
    INFO(r.err);
    CHECK(r.status.exited_with(69));
    CHECK(non_empty_lines(r.err).size() == 1);
    CHECK(r.err.find(closed) != std::string::npos);
    CHECK(took < 1s + 3s);  // --timeout, plus the process's start and exit on a loaded machine
  }
}
