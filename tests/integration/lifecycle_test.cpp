// Shutdown: SIGTERM deregisters and revokes; SIGKILL leaves the keys to the lease.
#include <signal.h>

#include <catch2/catch.hpp>

#include "itest.hpp"

using namespace registrar::itest;

namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

TEST_CASE("lifecycle: SIGTERM deletes every key, revokes the lease and exits 0", "[lifecycle]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello1;
  HelloService hello2;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(hello1, "hello-1"), entry_for(hello2, "hello-2")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  const auto kvs =
      wait_for_keys(ctl, "/services/", {"/services/hello/hello-1", "/services/hello/hello-2"});
  REQUIRE(kvs.has_value());
  REQUIRE(ctl.lease_list().size() == 1);

  const auto t0 = Clock::now();
  const ExitStatus st = daemon.terminate(10s);
  record("SIGTERM to exit",
         std::to_string(std::chrono::duration_cast<Millis>(Clock::now() - t0).count()) + " ms");
  CHECK(st.exited_with(0));
  INFO("daemon ended with " << st.describe());
  // Deregistration happens before the exit: no waiting here.
  CHECK(ctl.get_all().empty());
  CHECK(ctl.lease_list().empty());
  CHECK(daemon.find_log(std::regex("all entries removed and lease revoked")).has_value());
}

TEST_CASE("lifecycle: keys go before the drain wait, and a second SIGTERM exits at once",
          "[lifecycle]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.drain = "60s";
  m.services = {entry_for(hello, "hello-1")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  REQUIRE(wait_for_keys(ctl, "/services/", {"/services/hello/hello-1"}));
  daemon.signal(SIGTERM);
  // While the daemon drains (60 s), its keys and lease are already gone.
  CHECK(wait_until(
      [&] {
        const auto kvs = try_get_prefix(ctl, "");
        const auto leases = try_lease_list(ctl);
        return kvs && kvs->empty() && leases && leases->empty();
      },
      10s));
  CHECK(daemon.running());

  const auto t0 = Clock::now();
  daemon.signal(SIGTERM);
  const auto st = daemon.process().wait_exit(10s);  // far less than the 60 s drain
  record("second SIGTERM to exit",
         std::to_string(std::chrono::duration_cast<Millis>(Clock::now() - t0).count()) + " ms");
  REQUIRE(st.has_value());
  INFO("daemon ended with " << st->describe());
  CHECK(st->exited_with(128 + SIGTERM));  // docs/cli.md: 128 + signal number
}

TEST_CASE("lifecycle: after SIGKILL the keys stay until the lease expires", "[lifecycle]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello1;
  HelloService hello2;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.lease_ttl = "2s";
  m.services = {entry_for(hello1, "hello-1"), entry_for(hello2, "hello-2")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  const auto kvs =
      wait_for_keys(ctl, "/services/", {"/services/hello/hello-1", "/services/hello/hello-2"});
  REQUIRE(kvs.has_value());
  const std::int64_t lease = kvs->front().lease;

  const auto t0 = Clock::now();
  CHECK(daemon.kill9().killed_by(SIGKILL));
  // Nothing deleted them: they are still there right after the kill...
  CHECK(ctl.get_prefix("/services/").size() == 2);
  // etcd rounds the remaining TTL down to whole seconds: 0 is a lease with under 1 s left, -1 a
  // lease that is gone. Two etcdctl runs after the kill may well take a loaded machine 1 s.
  CHECK(ctl.lease_ttl(lease).ttl >= 0);
  // ...and vanish with the lease (TTL 2 s).
  const bool expired = wait_until(
      [&] {
        const auto left = try_get_prefix(ctl, "");
        const auto leases = try_lease_list(ctl);
        return left && left->empty() && leases && leases->empty();
      },
      10s, 50ms);
  record("SIGKILL to keys expired (lease_ttl 2s)",
         std::to_string(std::chrono::duration_cast<Millis>(Clock::now() - t0).count()) + " ms");
  CHECK(expired);
}

TEST_CASE("lifecycle: SIGTERM deregisters at once while a probe call hangs", "[lifecycle]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloServiceOptions options;
  options.no_watch = true;  // Check polling: each call may hang up to probe.timeout
  HelloService hello(options);
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.probe_timeout = "60s";  // a held Check would block shutdown for a minute if we waited on it
  m.services = {entry_for(hello, "hello-1")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  REQUIRE(wait_for_keys(ctl, "/services/", {"/services/hello/hello-1"}));
  hello.set_hang(true);
  // The daemon's next Check is now held by the service, unanswered.
  REQUIRE(hello.process().wait_for_line(Stream::Stderr, std::regex("holding Check"), 10s));
  CHECK(ctl.get_prefix("/services/").size() == 1);  // still registered: no result yet

  const auto t0 = Clock::now();
  const auto st = daemon.terminate(10s);  // far less than the 60 s probe deadline
  record("SIGTERM to exit with a probe call hung",
         std::to_string(std::chrono::duration_cast<Millis>(Clock::now() - t0).count()) + " ms");
  CHECK(st.exited_with(0));
  INFO("daemon ended with " << st.describe());
  CHECK(ctl.get_all().empty());
  CHECK(ctl.lease_list().empty());
}
