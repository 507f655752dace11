// `register` (one registration from flags, the life cycle of `run`), `drain` and `status`
// against a real etcd, a real example service and the real binary.
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "ops_itest.hpp"
#include "support/ports.hpp"

using namespace registrar::itest;

TEST_CASE("ops register: flags alone register, follow health, and SIGTERM deregisters",
          "[ops][register]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  const Etcdctl ctl = etcd.ctl();
  HelloService hello;
  auto daemon = start_registrar({"register",
                                 "--etcd",
                                 etcd.endpoint(),
                                 "--name",
                                 "hello",
                                 "--id",
                                 "hello-1",
                                 "--address",
                                 "127.0.0.1",
                                 "--port",
                                 std::to_string(hello.port()),
                                 "--tag",
                                 "v1",
                                 "--tag",
                                 "blue",
                                 "--meta",
                                 "zone=a",
                                 "--ttl",
                                 "3s",
                                 "--probe-interval",
                                 "200ms",
                                 "--log-level",
                                 "debug"});
  DumpOnFailure dump(*daemon);
  const auto kvs = wait_for_keys(ctl, "/services", {"/services/hello/hello-1"});
  REQUIRE(kvs);
  const auto v = nlohmann::json::parse(kvs->front().value);
  CHECK(v["port"] == hello.port());
  CHECK(v["tags"] == nlohmann::json::array({"v1", "blue"}));
  CHECK(v["meta"]["zone"] == "a");
  CHECK(kvs->front().lease != 0);
  CHECK(ctl.lease_ttl(kvs->front().lease).granted_ttl == 3);

  hello.set_serving(false);
  CHECK(wait_for_keys(ctl, "/services", {}));
  hello.set_serving(true);
  CHECK(wait_for_keys(ctl, "/services", {"/services/hello/hello-1"}));

  // SIGHUP has nothing to reload: logged, nothing changes.
  const auto before = daemon->output_size(Stream::Stderr);
  daemon->signal(SIGHUP);
  CHECK(daemon->wait_for_line(Stream::Stderr, std::regex("nothing to reload"), 5s, before));
  CHECK(ctl.get("/services/hello/hello-1"));

  daemon->signal(SIGTERM);
  const auto st = daemon->wait_exit(10s);
  REQUIRE(st);
  CHECK(st->exited_with(0));
  CHECK(ctl.get_prefix("/services").empty());
  CHECK(daemon->stderr_text().find("from <flags>") != std::string::npos);
}

TEST_CASE(
    "ops drain: the control socket and SIGUSR1 deregister at once and keep the daemon running",
    "[ops][drain]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  const Etcdctl ctl = etcd.ctl();
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(hello, "hello-1")};
  std::string yaml = manifest_yaml(m) + "status:\n  listen: 127.0.0.1:0\n";

  SECTION("through the control socket, with `grpc-registrar drain`") {
    Daemon d(yaml);
    DumpOnFailure dump(d.process());
    const auto port = wait_for_status_port(d.process());
    REQUIRE(port);
    REQUIRE(wait_for_keys(ctl, "/services", {"/services/hello/hello-1"}));
    const std::string address = "127.0.0.1:" + std::to_string(*port);
    auto r = run_registrar({"status", "--status-address", address, "--ready", "--quiet"});
    CHECK(r.status.exited_with(0));

    r = run_registrar({"drain", "--control-socket", d.control_socket()});
    INFO(r.err);
    CHECK(r.status.exited_with(0));
    CHECK(r.out.rfind("drained: ", 0) == 0);
    // Answered only once the registry confirmed: the key is already gone.
    CHECK(ctl.get_prefix("/services").empty());
    CHECK(d.running());
    hello.set_serving(false);  // probes have stopped: nothing comes back either way
    hello.set_serving(true);
    CHECK_FALSE(wait_until([&] { return !ctl.get_prefix("/services").empty(); }, 600ms));

    // Alive, not ready.
    CHECK(run_registrar({"status", "--status-address", address, "-q"}).status.exited_with(0));
    r = run_registrar({"status", "--status-address", address, "--ready"});
    CHECK(r.status.exited_with(1));
    CHECK(r.err.find("not ready: draining") != std::string::npos);
    CHECK(nlohmann::json::parse(r.out)["draining"] == true);
    // Draining again answers at once.
    CHECK(run_registrar({"drain", "--control-socket", d.control_socket()}).status.exited_with(0));

    CHECK(d.terminate().exited_with(0));
  }

  SECTION("by SIGUSR1, with `grpc-registrar drain --pid`") {
    Daemon d(yaml);
    DumpOnFailure dump(d.process());
    REQUIRE(wait_for_keys(ctl, "/services", {"/services/hello/hello-1"}));
    const auto r = run_registrar({"drain", "--pid", std::to_string(d.process().pid())});
    CHECK(r.status.exited_with(0));
    CHECK(wait_for_keys(ctl, "/services", {}));
    CHECK(d.running());
    CHECK(d.terminate().exited_with(0));
  }

  SECTION("the manifest named by -c tells `drain` and `status` where the daemon listens") {
    const std::uint16_t port = free_port();
    const TempDir run_dir("registrar-run");
    const std::string socket = (run_dir.path() / "control.sock").string();
    const std::string fixed = manifest_yaml(m) +
                              "status:\n  listen: 127.0.0.1:" + std::to_string(port) +
                              "\n  control_socket: " + socket + "\n";
    Daemon d(fixed);
    DumpOnFailure dump(d.process());
    REQUIRE(wait_for_status_port(d.process()));
    REQUIRE(wait_for_keys(ctl, "/services", {"/services/hello/hello-1"}));
    const std::string path = d.manifest_path().string();
    CHECK(wait_until(
        [&] {
          return run_registrar({"status", "-c", path, "--ready", "-q"}).status.exited_with(0);
        },
        10s, 100ms));
    CHECK(run_registrar({"drain", "-c", path}).status.exited_with(0));
    CHECK(ctl.get_prefix("/services").empty());
    CHECK(d.terminate().exited_with(0));
  }
}

TEST_CASE("ops status: nothing listening is exit 1 (a failed health check), not a usage error",
          "[ops][status]") {
  if (!have_binaries()) return;
  const auto r = run_registrar({"status", "--status-address",
                                "127.0.0.1:" + std::to_string(free_port()), "--timeout", "1s"});
  CHECK(r.status.exited_with(1));
  CHECK(non_empty_lines(r.err).size() == 1);
  const TempDir no_daemon("registrar-none");
  const auto d = run_registrar({"drain", "--control-socket",
                                (no_daemon.path() / "control.sock").string(), "--timeout", "1s"});
  CHECK(d.status.exited_with(69));
  CHECK(non_empty_lines(d.err).size() == 1);
  // A manifest without a control socket: say what to do.
  const ManifestFile file("services: []\nstatus:\n  control_socket: \"off\"\n");
  const auto s = run_registrar({"drain", "-c", file.path().string()});
  CHECK(s.status.exited_with(69));
  CHECK(s.err.find("give --control-socket or --pid") != std::string::npos);
}
