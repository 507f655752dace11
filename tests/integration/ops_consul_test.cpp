// `register --consul` and `deregister --consul` against the Consul agent double
// (tests/consul_double), with an ACL token that only ever travels in a file.
#include <signal.h>

#include <catch2/catch.hpp>

#include "consul_itest.hpp"
#include "ops_itest.hpp"
#include "support/secrets.hpp"

using namespace registrar::itest;

TEST_CASE("ops consul: register --consul keeps a TTL check true to health, SIGTERM deregisters",
          "[ops][consul]") {
  if (!have_binaries()) return;
  const std::string token = registrar::test::kKnownToken;
  ConsulDouble consul({token});
  HelloService hello;
  auto d = start_registrar({"register",
                            "--consul",
                            consul.address(),
                            "--token-file",
                            consul.token_file().string(),
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
                            "--ttl",
                            "2s",
                            "--probe-interval",
                            "200ms",
                            "--log-level",
                            "debug"});
  DumpOnFailure dump(*d);
  REQUIRE(wait_for_services(consul, {"hello-1"}));
  const auto check_id = consul_check_id("hello-1");
  CHECK(wait_for_check(consul, check_id, "passing", std::chrono::steady_clock::now()));
  const auto services = consul.agent_services();
  CHECK(services["hello-1"]["Service"] == "hello");
  CHECK(services["hello-1"]["Port"] == hello.port());
  CHECK(services["hello-1"]["Tags"] == nlohmann::json::array({"v1"}));

  hello.set_serving(false);
  CHECK(wait_for_check(consul, check_id, "critical", std::chrono::steady_clock::now()));
  hello.set_serving(true);
  CHECK(wait_for_check(consul, check_id, "passing", std::chrono::steady_clock::now()));

  d->signal(SIGTERM);
  const auto st = d->wait_exit(10s);
  REQUIRE(st);
  CHECK(st->exited_with(0));
  CHECK(wait_for_services(consul, {}));
  CHECK(never_mentions(d->stderr_text(), token));
}

TEST_CASE("ops consul: deregister --consul removes a service id, with the token from a file",
          "[ops][consul]") {
  if (!have_binaries()) return;
  const std::string token = registrar::test::kKnownToken;
  ConsulDouble consul({token});
  HelloService hello;
  {
    auto d = start_registrar({"register", "--consul", consul.address(), "--token-file",
                              consul.token_file().string(), "--name", "hello", "--id", "left-1",
                              "--address", "127.0.0.1", "--port", std::to_string(hello.port())});
    REQUIRE(wait_for_services(consul, {"left-1"}));
    d->kill9();  // gone without deregistering: left-1 stays until someone cleans up
  }
  CHECK(wait_for_services(consul, {"left-1"}));

  // Without the token, Consul refuses: 69, and the advice names the ACL.
  auto r = run_registrar({"deregister", "--consul", consul.address(), "--id", "left-1"});
  CHECK(r.status.exited_with(69));
  CHECK(r.err.find("403") != std::string::npos);

  r = run_registrar({"deregister", "--consul", consul.address(), "--id", "left-1"},
                    {{"CONSUL_HTTP_TOKEN_FILE", consul.token_file().string()}});
  INFO(r.err);
  CHECK(r.status.exited_with(0));
  CHECK(r.out == "deregistered service left-1\n");
  CHECK(wait_for_services(consul, {}));
  r = run_registrar({"deregister", "--consul", consul.address(), "--token-file",
                     consul.token_file().string(), "--id", "left-1"});
  CHECK(r.status.exited_with(0));
  CHECK(r.out.find("was not registered") != std::string::npos);
  CHECK(r.err.find(token) == std::string::npos);
}
