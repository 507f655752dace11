// The Eureka backend end to end: the real daemon, a real hello-service, the Eureka server double
// (tests/eureka_double). Registration, health flips, drain, SIGTERM, and the faults: a server
// restarted without state, 5xx bursts, slow answers, failover to the second URL, SIGKILL. Every
// bound is derived from the manifest's settings below (renewal 1 s, lease 2 s, request timeout
// 300 ms); elapsed times are printed (MEASURED), never asserted tighter than the bounds.
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "itest.hpp"
#include "support/eureka_double.hpp"
#include "support/paths.hpp"
#include "support/require.hpp"

using namespace registrar::itest;
using nlohmann::json;
using registrar::test::EurekaDouble;
using registrar::test::EurekaDoubleOptions;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr auto kRenewal = 1s;
constexpr auto kLease = 2s;
constexpr auto kRequestTimeout = 300ms;
// One heartbeat period, plus the request that found the loss and the registration, plus the
// probe's start and scheduling slack of a loaded 2-core machine.
constexpr auto kOneHeartbeat = kRenewal + 2 * kRequestTimeout + 2s;

bool have_eureka_double() {
  return registrar::test::need(registrar::test::eureka_double_bin().has_value(),
                               "eureka-double not found (target eureka_double, built with go, "
                               "or $REGISTRAR_TEST_EUREKA_DOUBLE_BIN)") &&
         have_binaries();
}

std::string manifest(const std::vector<std::string>& urls, const HelloService& hello,
                     const std::string& id = "hello-1") {
  std::string yaml = "registry:\n  kind: eureka\n  eureka:\n    urls:\n";
  for (const auto& u : urls) yaml += "      - \"" + u + "\"\n";
  yaml +=
      "    renewal_interval: 1s\n"
      "    lease_duration: 2s\n"
      "    request_timeout: 300ms\n"
      "  backoff: {initial: 50ms, max: 400ms}\n"
      "defaults:\n"
      "  probe: {mode: watch, interval: 100ms, timeout: 1s}\n"
      "services:\n"
      "  - name: hello\n"
      "    id: " +
      id +
      "\n"
      "    address: 127.0.0.1\n"
      "    port: " +
      std::to_string(hello.port()) +
      "\n"
      "    meta: {zone: a}\n"
      "shutdown_timeout: 5s\n";
  return yaml;
}

// Polls the live GET /eureka/apps/HELLO/{id} until its status is `status` ("" = absent).
std::optional<Millis> wait_for_status(EurekaDouble& eureka, const std::string& id,
                                      const std::string& status, Clock::time_point since,
                                      Millis timeout = 10s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    try {
      auto inst = eureka.instance("HELLO", id);
      const std::string now = inst ? inst->at("status").get<std::string>() : "";
      if (now == status) return std::chrono::duration_cast<Millis>(Clock::now() - since);
    } catch (const std::exception&) {
      // a faulted answer: look again
    }
    std::this_thread::sleep_for(20ms);
  }
  return std::nullopt;
}

std::size_t count_requests(const json& log, const std::string& method, int status) {
  std::size_t n = 0;
  for (const json& r : log)
    if (r.at("method") == method && r.at("status") == status) ++n;
  return n;
}

}  // namespace

TEST_CASE("eureka: register, flip, drain and SIGTERM as Eureka readers see them", "[eureka]") {
  if (!have_eureka_double()) return;
  EurekaDouble eureka;
  HelloService hello;
  const auto started = Clock::now();
  Daemon daemon(manifest({eureka.url()}, hello));
  DumpOnFailure dump(daemon.process());

  auto up = wait_for_status(eureka, "hello-1", "UP", started);
  REQUIRE(up);
  record_ms("eureka: start to UP", up->count());
  const json inst = *eureka.instance("HELLO", "hello-1");
  CHECK(inst.at("app") == "HELLO");
  CHECK(inst.at("ipAddr") == "127.0.0.1");
  CHECK(inst.at("vipAddress") == "hello");
  CHECK(inst.at("port").at("$") == hello.port());
  CHECK(inst.at("metadata").at("gRPC_port") == std::to_string(hello.port()));
  CHECK(inst.at("metadata").at("zone") == "a");
  CHECK(inst.at("leaseInfo").at("durationInSecs") == 2);

  hello.set_serving(false);
  auto t = Clock::now();
  auto down = wait_for_status(eureka, "hello-1", "DOWN", t, 5s);
  CHECK(down);
  record_ms("eureka: NOT_SERVING to DOWN", count_ms(down));
  hello.set_serving(true);
  t = Clock::now();
  CHECK(wait_for_status(eureka, "hello-1", "UP", t, 5s));

  // Drain (SIGUSR1): out of service, then cancelled; the daemon keeps running.
  const std::uint64_t before = eureka.requests().back().at("seq");
  daemon.signal(SIGUSR1);
  t = Clock::now();
  CHECK(wait_for_status(eureka, "hello-1", "", t, 5s));
  const json drained = eureka.requests(before);
  bool out_of_service = false;
  for (const json& r : drained)
    out_of_service = out_of_service || r.at("query") == "value=OUT_OF_SERVICE";
  CHECK(out_of_service);
  CHECK(daemon.running());
  CHECK(daemon.terminate().exited_with(0));
}

TEST_CASE("eureka: SIGTERM cancels at once", "[eureka]") {
  if (!have_eureka_double()) return;
  EurekaDouble eureka;
  HelloService hello;
  Daemon daemon(manifest({eureka.url()}, hello));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_status(eureka, "hello-1", "UP", Clock::now()));
  CHECK(daemon.terminate().exited_with(0));
  CHECK_FALSE(eureka.instance("HELLO", "hello-1"));
  CHECK(count_requests(eureka.requests(), "DELETE", 200) == 1);
}

TEST_CASE("eureka: a server restarted without state has it again within one heartbeat",
          "[eureka]") {
  if (!have_eureka_double()) return;
  EurekaDouble eureka;
  HelloService hello;
  Daemon daemon(manifest({eureka.url()}, hello));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_status(eureka, "hello-1", "UP", Clock::now()));
  eureka.restart_wiping_state();
  const auto t = Clock::now();
  auto back = wait_for_status(eureka, "hello-1", "UP", t, kOneHeartbeat);
  CHECK(back);
  record_ms("eureka: restart without state to UP again", count_ms(back));
  CHECK(daemon.wait_for_log(std::regex("Eureka lost hello-1"), 1s));
}

TEST_CASE("eureka: a 5xx burst and slow answers cost no registration", "[eureka]") {
  if (!have_eureka_double()) return;
  EurekaDoubleOptions o;
  o.eviction_interval = "200ms";
  o.self_preservation = false;  // so that a lapse would show as an eviction
  EurekaDouble eureka(o);
  HelloService hello;
  Daemon daemon(manifest({eureka.url()}, hello));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_status(eureka, "hello-1", "UP", Clock::now()));

  // The faults hit whatever comes next, so the test reads nothing until the daemon's requests
  // have taken them: two leases' worth of heartbeats, with the eviction task running every
  // 200 ms, would evict the instance if its lease ever lapsed.
  eureka.fail_next(3, 503);
  eureka.delay(500, 2);  // past request_timeout (300 ms)
  std::this_thread::sleep_for(2 * kLease);
  CHECK(eureka.state().at("evictions") == 0);
  CHECK(eureka.instance("HELLO", "hello-1"));
  const json log = eureka.requests();
  std::size_t failed = 0, delayed = 0;
  for (const json& r : log) {
    failed += r.value("fault", "") == "fail";
    delayed += r.value("fault", "") == "delay";
  }
  CHECK(failed == 3);
  CHECK(delayed == 2);
  // No registration was lost: the only POST is the first one.
  std::size_t posts = 0;
  for (const json& r : log) posts += r.at("method") == "POST";
  CHECK(posts == 1);
  CHECK(daemon.terminate().exited_with(0));
}

TEST_CASE("eureka: the second URL takes over when the first is down", "[eureka]") {
  if (!have_eureka_double()) return;
  EurekaDouble first;
  EurekaDouble second;
  HelloService hello;
  Daemon daemon(manifest({first.url(), second.url()}, hello));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_status(first, "hello-1", "UP", Clock::now()));
  CHECK_FALSE(second.instance("HELLO", "hello-1"));
  first.kill();
  const auto t = Clock::now();
  // The next heartbeat fails to connect, goes to the second at once, which answers 404: the
  // registration follows.
  auto taken = wait_for_status(second, "hello-1", "UP", t, kOneHeartbeat);
  CHECK(taken);
  record_ms("eureka: first server killed to UP at the second", count_ms(taken));
  CHECK(daemon.terminate().exited_with(0));
  CHECK_FALSE(second.instance("HELLO", "hello-1"));
}

TEST_CASE("eureka: after SIGKILL the instance expires by the server's rule", "[eureka]") {
  if (!have_eureka_double()) return;
  EurekaDoubleOptions o;
  o.eviction_interval = "500ms";
  o.self_preservation = false;  // one instance: self-preservation would keep it forever
  EurekaDouble eureka(o);
  HelloService hello;
  Daemon daemon(manifest({eureka.url()}, hello));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_status(eureka, "hello-1", "UP", Clock::now()));
  std::this_thread::sleep_for(kRenewal + 500ms);  // renewed at least once: the 2 x lease rule
  daemon.kill9();
  const auto t = Clock::now();
  // The last renewal the server took, as Eureka stores it (wall-clock ms): its time plus one
  // lease (Eureka's documented off-by-duration), or the registration's time if no renewal came
  // yet; either way the instance expires one lease after it. Read from the server, not assumed
  // from the kill: on a loaded machine the last heartbeat before the kill may be late.
  const auto last = eureka.instance("HELLO", "hello-1");
  REQUIRE(last);
  const auto renewed_plus_lease =
      last->at("leaseInfo").at("lastRenewalTimestamp").get<std::int64_t>();
  // Eureka: expired 2 x lease_duration after the last renewal, removed at the next eviction run.
  auto gone = wait_for_status(eureka, "hello-1", "", t, 2 * kLease + 500ms + 3s);
  REQUIRE(gone);
  const auto gone_wall =
      std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  record_ms("eureka: SIGKILL to evicted", count_ms(gone));
  // Not before one lease after that record, two after the renewal (seen within one 20 ms look).
  CHECK(gone_wall >= renewed_plus_lease + Millis(kLease).count());
}

TEST_CASE("eureka: register --eureka registers from flags alone, SIGTERM cancels", "[eureka]") {
  if (!have_eureka_double()) return;
  EurekaDouble eureka;
  HelloService hello;
  registrar::test::Process reg(
      *registrar::test::registrar_bin(),
      {"register", "--eureka", eureka.url(), "--name", "hello", "--id", "hello-flags", "--address",
       "127.0.0.1", "--port", std::to_string(hello.port()), "--ttl", "3s", "--status-listen",
       "127.0.0.1:0"},
      {}, "register-eureka");
  DumpOnFailure dump(reg);
  REQUIRE(wait_for_status(eureka, "hello-flags", "UP", Clock::now()));
  CHECK(eureka.instance("HELLO", "hello-flags")->at("leaseInfo").at("durationInSecs") == 3);
  reg.signal(SIGTERM);
  const auto st = reg.wait_exit(10s);
  REQUIRE(st);
  CHECK(st->exited_with(0));
  CHECK_FALSE(eureka.instance("HELLO", "hello-flags"));
}

TEST_CASE("eureka: deregister --eureka cancels what a gone daemon left", "[eureka]") {
  if (!have_eureka_double()) return;
  EurekaDouble eureka;
  const std::string body =
      R"({"instance":{"instanceId":"left-1","hostName":"127.0.0.1","app":"HELLO",)"
      R"("ipAddr":"127.0.0.1","status":"UP","port":{"$":5000,"@enabled":"true"},)"
      R"("dataCenterInfo":{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",)"
      R"("name":"MyOwn"}}})";
  REQUIRE(eureka.post_instance("HELLO", body).status == 204);
  const std::vector<std::string> args{"deregister", "--eureka", eureka.url(), "--name",
                                      "hello",      "--id",     "left-1"};
  const auto first = registrar::test::run_command(*registrar::test::registrar_bin(), args, 20s);
  CHECK(first.status.exited_with(0));
  CHECK(first.out == "cancelled instance left-1 of HELLO\n");
  CHECK_FALSE(eureka.instance("HELLO", "left-1"));
  const auto again = registrar::test::run_command(*registrar::test::registrar_bin(), args, 20s);
  CHECK(again.status.exited_with(0));
  CHECK(again.out.find("was not registered") != std::string::npos);
}
