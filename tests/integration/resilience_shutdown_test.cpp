// Issue 4, fault 8: shutdown ordering. A drain (SIGUSR1, or `grpc-registrar drain`) deregisters
// everything at once and keeps the process up until SIGTERM; SIGTERM during start-up or in the
// middle of a registration still leaves nothing registered.
#include <signal.h>

#include <catch2/catch.hpp>

#include "resilience_itest.hpp"

using namespace registrar::itest;

TEST_CASE("fault 8: SIGUSR1 drains at once and the daemon stays up until SIGTERM",
          "[resilience][fault-8]") {
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
  REQUIRE(wait_for_keys(ctl, "/services/", {"/services/hello/hello-1", "/services/hello/hello-2"}));
  const auto lease = ctl.lease_list();

  const auto t0 = std::chrono::steady_clock::now();
  daemon.signal(SIGUSR1);
  REQUIRE(wait_for_keys(ctl, "/services/", {}));
  record_ms("fault 8: SIGUSR1 to every entry gone", ms_since(t0));
  REQUIRE(daemon.wait_for_log(std::regex("drain complete: nothing registered"), 10s));
  const auto revision = ctl.revision();

  // Up, and nothing comes back: a health change does not re-register (probing stopped), nor
  // does a second drain or a reload.
  hello1.set_serving(false);
  hello1.set_serving(true);
  daemon.signal(SIGUSR1);
  daemon.signal(SIGHUP);
  REQUIRE(daemon.wait_for_log(std::regex("reload refused: the daemon is draining"), 10s));
  CHECK(daemon.running());
  CHECK(ctl.get_prefix("/services/").empty());
  CHECK(ctl.revision() == revision);
  CHECK(ctl.lease_list() == lease);  // the lease lives on until SIGTERM

  // SIGTERM: the lease is revoked and the process exits.
  const auto t1 = std::chrono::steady_clock::now();
  const ExitStatus st = daemon.terminate(10s);
  record_ms("fault 8: SIGTERM after drain to exit", ms_since(t1));
  CHECK(st.exited_with(0));
  CHECK(ctl.get_all().empty());
  CHECK(ctl.lease_list().empty());
}

TEST_CASE("fault 8: SIGTERM at any point of start-up leaves nothing registered",
          "[resilience][fault-8]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(hello, "hello-1")};
  const Etcdctl ctl = etcd.ctl();
  // The signal lands right after each of these steps of start-up.
  for (const char* step :
       {"grpc-registrar starting", "supervisor: probing", "etcd lease [0-9a-f]+ granted",
        "service hello-1 is healthy", "hello-1 registered"}) {
    INFO("SIGTERM after: " << step);
    Daemon daemon(manifest_yaml(m));
    DumpOnFailure dump(daemon.process());
    REQUIRE(daemon.wait_for_log(std::regex(step), 10s));
    daemon.signal(SIGTERM);
    const auto st = daemon.process().wait_exit(10s);
    REQUIRE(st.has_value());
    CHECK(st->exited_with(0));
    CHECK(ctl.get_prefix("/services/").empty());
    CHECK(ctl.get_prefix("/grpc-registrar/").empty());
  }
}

TEST_CASE("fault 8: SIGTERM while a registration is held up by a frozen etcd leaves nothing",
          "[resilience][fault-8]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloServiceOptions options;
  options.not_serving = true;
  HelloService hello(options);
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.dial_timeout = "1s";
  m.lease_ttl = "10s";
  m.services = {entry_for(hello, "hello-1")};
  ManifestExtras x;
  x.shutdown_timeout = "20s";
  Daemon daemon(manifest_yaml(m, x));
  DumpOnFailure dump(daemon.process());
  REQUIRE(daemon.wait_for_log(std::regex("etcd lease [0-9a-f]+ granted"), 10s));

  // etcd freezes; the service turns healthy: the daemon's put is sent and hangs.
  etcd.process()->signal(SIGSTOP);
  hello.set_serving(true);
  REQUIRE(daemon.wait_for_log(std::regex("service hello-1 is healthy"), 10s));
  daemon.signal(SIGTERM);
  REQUIRE(daemon.wait_for_log(std::regex("deregistering"), 10s));
  // etcd resumes with the put and the revoke both queued, in whatever order it takes them.
  etcd.process()->signal(SIGCONT);
  const auto st = daemon.process().wait_exit(25s);
  REQUIRE(st.has_value());
  CHECK(st->exited_with(0));
  const Etcdctl ctl = etcd.ctl();
  CHECK(ctl.get_prefix("/services/").empty());
  CHECK(ctl.get_prefix("/grpc-registrar/").empty());
  CHECK(ctl.lease_list().empty());
}
