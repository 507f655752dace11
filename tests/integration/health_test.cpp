// Health changes: a key exists exactly while its service is healthy. Latencies are printed.
#include <catch2/catch.hpp>

#include "itest.hpp"

using namespace registrar::itest;

namespace {

using Clock = std::chrono::steady_clock;

// Flips a whole hello-service NOT_SERVING then SERVING again and checks that `key` follows,
// printing the daemon's own latency and the one seen from outside through etcdctl.
void flip_and_check(Daemon& daemon, HelloService& hello, const Etcdctl& ctl, const std::string& id,
                    const std::string& key, const std::string& label) {
  const auto before = ctl.get(key);
  REQUIRE(before.has_value());

  std::size_t log_from = daemon.log_size();
  auto t0 = Clock::now();
  hello.set_serving(false);
  const auto gone = wait_for_key_state(ctl, key, false, t0);
  record_ms(label + ": SIGUSR1 to key gone (etcdctl poll)", count_ms(gone));
  REQUIRE(gone.has_value());
  const auto removed_ms = wait_for_daemon_latency(daemon, id, "removed", log_from);
  record_ms(label + ": daemon log, probe result to etcd ack of the delete", removed_ms);
  CHECK(removed_ms.has_value());
  CHECK(daemon.running());

  log_from = daemon.log_size();
  t0 = Clock::now();
  hello.set_serving(true);
  const auto back = wait_for_key_state(ctl, key, true, t0);
  record_ms(label + ": SIGUSR2 to key back (etcdctl poll)", count_ms(back));
  REQUIRE(back.has_value());
  const auto registered_ms = wait_for_daemon_latency(daemon, id, "registered", log_from);
  record_ms(label + ": daemon log, probe result to etcd ack of the put", registered_ms);

  const auto after = ctl.get(key);
  REQUIRE(after.has_value());
  CHECK(after->value == before->value);
  CHECK(after->lease != 0);
  CHECK(ctl.lease_list() == std::vector<std::int64_t>{after->lease});
}

}  // namespace

TEST_CASE("health: SIGUSR1 removes the key, SIGUSR2 restores it (Watch)", "[health]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(hello, "hello-1")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  REQUIRE(wait_for_keys(ctl, "/services/", {"/services/hello/hello-1"}));
  flip_and_check(daemon, hello, ctl, "hello-1", "/services/hello/hello-1", "watch");
  // And once more: flips are not one-shot.
  flip_and_check(daemon, hello, ctl, "hello-1", "/services/hello/hello-1", "watch, 2nd flip");
}

TEST_CASE("health: set-status on one health name affects only the service probing it", "[health]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloServiceOptions options;
  options.services = {"alpha", "beta"};
  HelloService hello(options);
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(hello, "hello-a", "alpha"), entry_for(hello, "hello-b", "beta")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  const auto initial =
      wait_for_keys(ctl, "/services/", {"/services/hello/hello-a", "/services/hello/hello-b"});
  REQUIRE(initial.has_value());
  const std::int64_t b_revision = ctl.get("/services/hello/hello-b")->mod_revision;

  std::size_t log_from = daemon.log_size();
  auto t0 = Clock::now();
  hello.set_status("alpha", false);
  const auto gone = wait_for_key_state(ctl, "/services/hello/hello-a", false, t0);
  record_ms("per-name: set-status alpha NOT_SERVING to key gone (etcdctl poll)", count_ms(gone));
  REQUIRE(gone.has_value());
  record_ms("per-name: daemon log, probe result to etcd ack of the delete",
            wait_for_daemon_latency(daemon, "hello-a", "removed", log_from));
  auto b = ctl.get("/services/hello/hello-b");
  REQUIRE(b.has_value());
  CHECK(b->mod_revision == b_revision);  // untouched, not rewritten

  log_from = daemon.log_size();
  t0 = Clock::now();
  hello.set_status("alpha", true);
  const auto back = wait_for_key_state(ctl, "/services/hello/hello-a", true, t0);
  record_ms("per-name: set-status alpha SERVING to key back (etcdctl poll)", count_ms(back));
  REQUIRE(back.has_value());

  // Now the other name: only hello-b goes.
  hello.set_status("beta", false);
  REQUIRE(wait_for_key_state(ctl, "/services/hello/hello-b", false, Clock::now()));
  CHECK(ctl.get("/services/hello/hello-a").has_value());
  CHECK(daemon.find_log(std::regex("hello-a removed"), log_from) == std::nullopt);
  CHECK(ctl.lease_list().size() == 1);
}

TEST_CASE("health: a server without Watch (--no-watch) is polled and still flips", "[health]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloServiceOptions options;
  options.no_watch = true;
  HelloService hello(options);
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(hello, "hello-1")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  REQUIRE(wait_for_keys(ctl, "/services/", {"/services/hello/hello-1"}));
  flip_and_check(daemon, hello, ctl, "hello-1", "/services/hello/hello-1", "poll fallback");
}

TEST_CASE("health: a hung health check (Check never answers) deregisters within the timeout",
          "[health]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloServiceOptions options;
  options.no_watch = true;  // Check calls, each bounded by probe.timeout
  HelloService hello(options);
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(hello, "hello-1")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  REQUIRE(wait_for_keys(ctl, "/services/", {"/services/hello/hello-1"}));
  auto t0 = Clock::now();
  hello.set_hang(true);
  const auto gone = wait_for_key_state(ctl, "/services/hello/hello-1", false, t0);
  record_ms("hang: set-hang on to key gone (etcdctl poll)", count_ms(gone));
  REQUIRE(gone.has_value());
  t0 = Clock::now();
  hello.set_hang(false);
  const auto back = wait_for_key_state(ctl, "/services/hello/hello-1", true, t0);
  record_ms("hang: set-hang off to key back (etcdctl poll)", count_ms(back));
  CHECK(back.has_value());
}

TEST_CASE("health: a service whose server dies is deregistered", "[health]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService keep;
  auto dying = std::make_unique<HelloService>();
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(keep, "keep-1"), entry_for(*dying, "dying-1")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  REQUIRE(wait_for_keys(ctl, "/services/", {"/services/hello/keep-1", "/services/hello/dying-1"}));
  const auto t0 = Clock::now();
  dying->process().kill9();
  const auto gone = wait_for_key_state(ctl, "/services/hello/dying-1", false, t0);
  record_ms("server killed to key gone (etcdctl poll)", count_ms(gone));
  CHECK(gone.has_value());
  CHECK(ctl.get("/services/hello/keep-1").has_value());
}
