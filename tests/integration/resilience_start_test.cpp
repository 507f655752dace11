// Issue 4, fault 1: the registry is down when the daemon starts.
#include <catch2/catch.hpp>

#include "resilience_itest.hpp"

using namespace registrar::itest;

TEST_CASE("fault 1: etcd down at start: the daemon probes, retries, and registers once etcd is up",
          "[resilience][fault-1]") {
  if (!have_binaries()) return;
  EtcdServer etcd(/*start_now=*/false);
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.dial_timeout = "500ms";
  // Steps of 2 s, 8 s, 32 s: after a few seconds down, the next retry is far off. The daemon
  // must not wait for it once etcd answers.
  m.backoff_initial = "2s";
  m.backoff_max = "60s";
  m.services = {entry_for(hello, "hello-1")};
  std::string yaml = manifest_yaml(m);
  yaml.replace(yaml.find("max: 60s}"), 9, "max: 60s, multiplier: 4, jitter: 0}");
  Daemon daemon(yaml);
  DumpOnFailure dump(daemon.process());

  // It starts anyway, says once that etcd is unreachable, and probes. It has started (systemd's
  // READY=1), but is not ready, and says so: /readyz answers 503 meanwhile.
  REQUIRE(daemon.wait_for_log(std::regex("registry: etcd unreachable"), 10s));
  REQUIRE(daemon.wait_for_log(std::regex("service hello-1 is healthy"), 10s));
  CHECK(daemon.wait_for_log(
      std::regex(
          R"(started, not ready \(etcd down: .*\): 1/1 healthy, 0 registered in etcd \(down\))"),
      10s));
  CHECK_FALSE(daemon.find_log(std::regex(R"(info ready: )")).has_value());
  CHECK(daemon.running());
  // The outage lasts through the 2 s and 8 s steps (attempts at about 0, 2.5 and 11 s, each
  // waiting 500 ms for a connection): the step pending after it is 32 s. The daemon must stay up
  // all along.
  const auto outage = std::chrono::steady_clock::now();
  CHECK_FALSE(wait_until([&] { return !daemon.running(); }, 13s, 100ms));
  record("fault 1: etcd down for", std::to_string(ms_since(outage)) + " ms after the first miss");

  etcd.start();
  const auto up = std::chrono::steady_clock::now();
  const auto kvs = wait_for_keys(etcd.ctl(), "/services/", {"/services/hello/hello-1"}, 15s);
  const long registered_ms = ms_since(up);
  record_ms("fault 1: etcd answering to registered (pending backoff step 32 s)", registered_ms);
  // Within 15 s, so not by the 32 s step: the connection coming back triggered the retry.
  REQUIRE(kvs.has_value());
  // One lease holds the key. A grant that reached etcd just as it came up but answered after the
  // attempt's 500 ms deadline (a loaded machine) leaves an orphan lease that nobody keeps alive:
  // etcd expires it by its TTL (5 s; bound 3 TTLs), and only the daemon's is left.
  const std::int64_t lease = kvs->front().lease;
  CHECK(lease != 0);
  CHECK(wait_until([&] { return etcd.ctl().lease_list() == std::vector<std::int64_t>{lease}; }, 15s,
                   250ms));

  // Logged once per state change, not once per attempt.
  const std::string log = daemon.log();
  CHECK(count_lines(log, std::regex("registry: etcd unreachable")) == 1);
  CHECK(count_lines(log, std::regex("registry: etcd reachable")) == 1);
  // "ready" once, when it is: at the monitor's next refresh (every second once the first pass is
  // done), so within a few seconds of the key appearing.
  const std::regex ready(R"(info ready: 1/1 healthy, 1 registered in etcd \(up, in sync\))");
  CHECK(daemon.wait_for_log(ready, 5s));
  CHECK(count_lines(daemon.log(), ready) == 1);
}

TEST_CASE("fault 1: SIGTERM while etcd was never reached: nothing to deregister, and said so",
          "[resilience][fault-1]") {
  if (!have_binaries()) return;
  EtcdServer etcd(/*start_now=*/false);
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.dial_timeout = "500ms";
  m.services = {entry_for(hello, "hello-1")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());
  REQUIRE(daemon.wait_for_log(std::regex("started, not ready"), 10s));
  CHECK(daemon.terminate().exited_with(0));
  CHECK(daemon.find_log(std::regex("registry: no lease held, nothing to deregister")).has_value());
  // It used to add that every entry was removed and the lease revoked.
  CHECK_FALSE(daemon.find_log(std::regex("lease revoked")).has_value());
}
