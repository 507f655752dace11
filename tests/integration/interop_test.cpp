// Interop: real Go consumers (etcd's gRPC-Go resolver, go-kit's instancer logic) read what the
// daemon writes. Built by tests/interop (target interop_clients); not run when absent.
#include <algorithm>
#include <catch2/catch.hpp>

#include "itest.hpp"
#include "support/paths.hpp"
#include "support/require.hpp"

using namespace registrar::itest;

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

TEST_CASE("interop: etcd gRPC-Go resolver dials the daemon's grpc-go key, drops it when unhealthy",
          "[interop]") {
  const auto client = etcd_resolver_client_bin();
  if (!need(client.has_value(),
            "interop client etcd-resolver-client not built (target interop_clients, with go)"))
    return;
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.format = "grpc-go";
  m.services = {entry_for(hello, "hello-1")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  const std::string key = "hello/" + hello.target();
  REQUIRE(wait_for_keys(ctl, "hello/", {key}));

  const CommandResult reach = run_command(
      *client, {"--etcd", etcd.endpoint(), "--target", "etcd:///hello", "--timeout", "10s"}, 15s);
  INFO("resolver client stdout: " << reach.out << "\nstderr: " << reach.err);
  CHECK(reach.status.exited_with(0));
  CHECK(reach.out.find("reached " + hello.target() + " status SERVING") != std::string::npos);

  const CommandResult listed = run_command(
      *client,
      {"--etcd", etcd.endpoint(), "--target", "etcd:///hello", "--list", "--timeout", "10s"}, 15s);
  INFO("--list before: " << listed.out << "\nstderr: " << listed.err);
  CHECK(listed.status.exited_with(0));
  CHECK(non_empty_lines(listed.out) == std::vector<std::string>{hello.target()});

  hello.set_serving(false);
  REQUIRE(wait_for_key_state(ctl, key, false, Clock::now()));
  const CommandResult after = run_command(
      *client,
      {"--etcd", etcd.endpoint(), "--target", "etcd:///hello", "--list", "--timeout", "10s"}, 15s);
  INFO("--list after: " << after.out << "\nstderr: " << after.err);
  CHECK(after.status.exited_with(0));
  CHECK(after.out.find(hello.target()) == std::string::npos);
}

TEST_CASE("interop: go-kit etcdv3 instancer sees exactly the daemon's two gokit instances",
          "[interop]") {
  const auto client = gokit_instancer_client_bin();
  if (!need(client.has_value(),
            "interop client gokit-instancer-client not built (target interop_clients, with go)"))
    return;
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello1;
  HelloService hello2;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.format = "gokit";
  m.services = {entry_for(hello1, "hello-1"), entry_for(hello2, "hello-2")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  REQUIRE(
      wait_for_keys(ctl, "/services/",
                    {"/services/hello/" + hello1.target(), "/services/hello/" + hello2.target()}));
  const CommandResult r = run_command(
      *client, {"--etcd", etcd.endpoint(), "--prefix", "/services/hello/", "--timeout", "10s"},
      15s);
  INFO("instancer client stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.status.exited_with(0));
  std::vector<std::string> expected{hello1.target(), hello2.target()};
  std::sort(expected.begin(), expected.end());
  CHECK(non_empty_lines(r.out) == expected);
}
