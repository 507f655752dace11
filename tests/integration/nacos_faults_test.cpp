// The Nacos backend under faults, against the double on a time scale of 0.1 (beats every 500 ms,
// unhealthy after 1.5 s without one, removed after 3 s, checked every 500 ms): a server
// restarted without its data, a 5xx burst, answers slower than request_timeout, a second server
// taking over, a server down at start, and a SIGKILLed daemon whose instances expire by the
// server's rule. Each bound below is derived from those settings; timings are printed.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "nacos_itest.hpp"

using namespace registrar::itest;
using nlohmann::json;
using registrar::test::NacosDouble;
using Clock = std::chrono::steady_clock;

namespace {

constexpr double kScale = 0.1;
constexpr Millis kBeat{500};         // 5 s x scale
constexpr Millis kUnhealthy{1500};   // 15 s x scale
constexpr Millis kRemoved{3000};     // 30 s x scale
constexpr Millis kCheckPeriod{500};  // 5 s x scale
// Slack for a loaded 2-core machine (sanitizers, five builds at once).
constexpr Millis kSlack{3000};

bool healthy_everywhere(NacosDouble& nacos, int port) {
  auto hosts = try_hosts(nacos, "hello", false);
  return hosts && hosts->size() == 1 && (*hosts)[0]["port"] == port &&
         (*hosts)[0]["healthy"] == true;
}

}  // namespace

TEST_CASE("nacos: a server restarted without its data has the instance back within a beat",
          "[nacos]") {
  if (!have_nacos_double()) return;
  NacosDouble nacos({.time_scale = kScale});
  HelloService a;
  NacosParams p;
  p.servers = {nacos.host_port()};
  p.services = {entry_for(a, "hello-a")};
  Daemon daemon(nacos_manifest_yaml(p));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_ports(nacos, "hello", {a.port()}, true, Clock::now()));
  const auto t0 = Clock::now();
  nacos.restart_wiping_state();
  const auto back = wait_for_ports(nacos, "hello", {a.port()}, true, t0, kBeat + kSlack);
  REQUIRE(back);
  record_ms("nacos: wiped server to listed again (beat 500 ms)", back->count());
}

TEST_CASE("nacos: a burst of 5xx leaves the instance healthy", "[nacos]") {
  if (!have_nacos_double()) return;
  NacosDouble nacos({.time_scale = kScale});
  HelloService a;
  NacosParams p;
  p.servers = {nacos.host_port()};
  p.services = {entry_for(a, "hello-a")};
  Daemon daemon(nacos_manifest_yaml(p));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_ports(nacos, "hello", {a.port()}, true, Clock::now()));
  const auto beats = nacos.stats().value("beats", 0);
  nacos.fail_next(3, 503);
  // Three failed beats retried on a 50-400 ms backoff, well inside the 1.5 s budget: the next
  // good beat comes, and the instance never turns unhealthy.
  const auto t0 = Clock::now();
  REQUIRE(registrar::test::wait_until([&] { return nacos.stats().value("beats", 0) >= beats + 4; },
                                      kUnhealthy + kSlack));
  record_ms("nacos: 3 x 503 to a good beat",
            std::chrono::duration_cast<Millis>(Clock::now() - t0).count());
  CHECK(healthy_everywhere(nacos, a.port()));
}

TEST_CASE("nacos: answers slower than request_timeout are retried, the instance stays", "[nacos]") {
  if (!have_nacos_double()) return;
  NacosDouble nacos({.time_scale = kScale});
  HelloService a;
  NacosParams p;
  p.servers = {nacos.host_port()};
  p.request_timeout = "300ms";
  p.services = {entry_for(a, "hello-a")};
  Daemon daemon(nacos_manifest_yaml(p));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_ports(nacos, "hello", {a.port()}, true, Clock::now()));
  nacos.delay(600, 2);  // two answers past the 300 ms timeout
  REQUIRE(daemon.wait_for_log(std::regex("Nacos server at .* (unreachable|answering)"), 5s));
  REQUIRE(daemon.wait_for_log(std::regex("Nacos server reachable"), 5s));
  CHECK(registrar::test::wait_until([&] { return healthy_everywhere(nacos, a.port()); }, 5s));
}

TEST_CASE("nacos: the second server takes over when the first dies", "[nacos]") {
  if (!have_nacos_double()) return;
  NacosDouble first({.time_scale = kScale});
  NacosDouble second({.time_scale = kScale});
  HelloService a;
  NacosParams p;
  p.servers = {first.host_port(), second.host_port()};
  p.services = {entry_for(a, "hello-a")};
  Daemon daemon(nacos_manifest_yaml(p));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_ports(first, "hello", {a.port()}, true, Clock::now()));
  CHECK(second.hosts("hello", false).empty());  // in order: the first one only
  const auto t0 = Clock::now();
  first.kill();
  // The next beat (500 ms) fails to connect, the second server gets the registration at once.
  const auto moved = wait_for_ports(second, "hello", {a.port()}, true, t0, kBeat + kSlack);
  REQUIRE(moved);
  record_ms("nacos: first server killed to registered on the second", moved->count());
}

TEST_CASE("nacos: a server down at start gets the instance once it is up", "[nacos]") {
  if (!have_nacos_double()) return;
  NacosDouble nacos({.time_scale = kScale});
  nacos.kill();
  HelloService a;
  NacosParams p;
  p.servers = {nacos.host_port()};
  p.services = {entry_for(a, "hello-a")};
  Daemon daemon(nacos_manifest_yaml(p));
  DumpOnFailure dump(daemon.process());
  REQUIRE(daemon.wait_for_log(std::regex("Nacos server at .* unreachable"), 5s));
  const auto t0 = Clock::now();
  nacos.start();
  // Retried on the backoff, at most backoff.max (400 ms) apart.
  const auto up = wait_for_ports(nacos, "hello", {a.port()}, true, t0, Millis(400) + kSlack);
  REQUIRE(up);
  record_ms("nacos: server up to registered", up->count());
}

TEST_CASE("nacos: a SIGKILLed daemon's instance turns unhealthy, then Nacos removes it",
          "[nacos]") {
  if (!have_nacos_double()) return;
  NacosDouble nacos({.time_scale = kScale});
  HelloService a;
  NacosParams p;
  p.servers = {nacos.host_port()};
  p.services = {entry_for(a, "hello-a")};
  Daemon daemon(nacos_manifest_yaml(p));
  REQUIRE(wait_for_ports(nacos, "hello", {a.port()}, true, Clock::now()));
  const auto t0 = Clock::now();
  daemon.kill9();
  // The last beat the server took (or the registration, which counts as one), by its own log: on
  // a loaded machine the last one before the kill may have been late, or not sent yet, so the
  // bound is not taken from the kill.
  std::int64_t last_beat_ms = 0;
  for (const auto& r : nacos.requests())
    if (r.at("path") == "/nacos/v1/ns/instance/beat" ||
        (r.at("path") == "/nacos/v1/ns/instance" && r.at("method") == "POST"))
      last_beat_ms = r.at("at_ms");
  REQUIRE(last_beat_ms > 0);
  const auto unhealthy =
      wait_for_ports(nacos, "hello", {}, true, t0, kUnhealthy + kCheckPeriod + kSlack);
  REQUIRE(unhealthy);
  const auto unhealthy_wall =
      std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  // Not before the server's own rule (seen within one look of the change).
  CHECK(unhealthy_wall >= last_beat_ms + kUnhealthy.count());
  const auto removed =
      wait_for_ports(nacos, "hello", {}, false, t0, kRemoved + kCheckPeriod + kSlack);
  REQUIRE(removed);
  record_ms("nacos: SIGKILL to unhealthy (15 s x 0.1)", unhealthy->count());
  record_ms("nacos: SIGKILL to removed (30 s x 0.1)", removed->count());
}
