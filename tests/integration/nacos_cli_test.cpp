// Issue 19, backend parity of the one-off commands: `register --nacos` and `deregister --nacos`
// take the same registry flags as the other backends (--nacos-user with --nacos-password-file,
// never a password on the command line), against the Nacos double.
#include <signal.h>

#include <catch2/catch.hpp>

#include "nacos_itest.hpp"

using namespace registrar::itest;
using registrar::test::NacosDouble;
using Clock = std::chrono::steady_clock;

TEST_CASE("nacos cli: register --nacos from flags alone, with a login, SIGTERM deregisters",
          "[nacos][cli]") {
  if (!have_nacos_double()) return;
  const std::string password = "n4c0s-Cl1-pw";
  NacosDouble nacos({.time_scale = 0.1, .user = "registrar", .password = password});
  HelloService hello;
  registrar::test::TempDir dir("registrar-nacos-cli");
  const auto pw_file = dir.write_file("nacos-password", password + "\n");
  std::filesystem::permissions(pw_file, std::filesystem::perms::owner_read);
  registrar::test::Process reg(
      *registrar::test::registrar_bin(),
      {"register", "--nacos", nacos.host_port(), "--nacos-user", "registrar",
       "--nacos-password-file", pw_file.string(), "--name", "hello", "--address", "127.0.0.1",
       "--port", std::to_string(hello.port()), "--status-listen", "127.0.0.1:0"},
      {}, "register-nacos");
  DumpOnFailure dump(reg);
  REQUIRE(wait_for_ports(nacos, "hello", {hello.port()}, true, Clock::now()));
  CHECK(nacos.stats().value("logins", 0) >= 1);
  // resolve reads it with the same flags (one declaration for every registry command).
  const auto seen =
      run_registrar({"resolve", "hello", "--nacos", nacos.host_port(), "--nacos-user", "registrar",
                     "--nacos-password-file", pw_file.string(), "-o", "addrs"});
  INFO(seen.err);
  CHECK(seen.status.exited_with(0));
  CHECK(seen.out == "127.0.0.1:" + std::to_string(hello.port()) + "\n");
  reg.signal(SIGTERM);
  const auto st = reg.wait_exit(10s);
  REQUIRE(st);
  CHECK(st->exited_with(0));
  CHECK(nacos.hosts("hello", false).empty());
  CHECK(reg.stderr_text().find(password) == std::string::npos);
}

TEST_CASE("nacos cli: deregister --nacos removes what a gone daemon left", "[nacos][cli]") {
  if (!have_nacos_double()) return;
  NacosDouble nacos({.time_scale = 0.1});
  HelloService hello;
  registrar::test::Process reg(*registrar::test::registrar_bin(),
                               {"register", "--nacos", nacos.host_port(), "--name", "hello",
                                "--address", "127.0.0.1", "--port", std::to_string(hello.port())},
                               {}, "register-nacos-killed");
  DumpOnFailure dump(reg);
  REQUIRE(wait_for_ports(nacos, "hello", {hello.port()}, true, Clock::now()));
  reg.kill9();
  const std::string port = std::to_string(hello.port());
  const auto r = run_registrar({"deregister", "--nacos", nacos.host_port(), "--name", "hello",
                                "--address", "127.0.0.1", "--port", port});
  INFO(r.err);
  CHECK(r.status.exited_with(0));
  CHECK(r.out == "deregistered instance 127.0.0.1:" + port + " of DEFAULT_GROUP@@hello\n");
  CHECK(nacos.hosts("hello", false).empty());  // at once, not 30 s x scale later

  // Without the address, one line naming what Nacos needs; with another backend's flag, one
  // line naming the flag.
  auto bad = run_registrar({"deregister", "--nacos", nacos.host_port(), "--name", "hello"});
  CHECK(bad.status.exited_with(64));
  CHECK(bad.err ==
        "grpc-registrar deregister: --name, --address and --port are required with --nacos "
        "(Nacos names an instance by service, ip and port)\n");
  bad = run_registrar({"deregister", "--nacos", nacos.host_port(), "--name", "hello", "--address",
                       "127.0.0.1", "--port", port, "--etcd-user", "root"});
  CHECK(bad.status.exited_with(64));
  CHECK(bad.err == "grpc-registrar deregister: --etcd-user: only with --etcd\n");
}
