// The Nacos backend end to end: the real daemon, real hello-service processes and the Nacos
// double. A client reading the instance list with healthyOnly=true sees exactly the healthy
// services, through a flip, a drain and SIGTERM; with auth on, the daemon logs in and never logs
// the password or the token. Bounds come from the settings; timings are printed, not asserted.
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>

#include "nacos_itest.hpp"

using namespace registrar::itest;
using nlohmann::json;
using registrar::test::NacosDouble;
using registrar::test::NacosDoubleOptions;
using Clock = std::chrono::steady_clock;

TEST_CASE("nacos: healthy services are listed, a flip and SIGTERM take them out", "[nacos]") {
  if (!have_nacos_double()) return;
  NacosDouble nacos({.time_scale = 0.1});
  HelloService a, b;
  NacosParams p;
  p.servers = {nacos.host_port()};
  p.services = {entry_for(a, "hello-a"), entry_for(b, "hello-b")};
  p.services[0].meta = {{"version", "1.2"}};
  Daemon daemon(nacos_manifest_yaml(p));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_ports(nacos, "hello", {a.port(), b.port()}, true, Clock::now()));
  const json hosts = nacos.hosts("hello", true);
  for (const auto& h : hosts) {
    CHECK(h["ip"] == "127.0.0.1");
    CHECK(h["ephemeral"] == true);
    CHECK(h["clusterName"] == "DEFAULT");
    CHECK(h["metadata"]["gRPC_port"] == std::to_string(h["port"].get<int>()));
  }

  auto t0 = Clock::now();
  b.set_serving(false);
  auto gone = wait_for_ports(nacos, "hello", {a.port()}, true, t0);
  REQUIRE(gone);
  record_ms("nacos: NOT_SERVING to out of the healthy list", gone->count());
  // Deregistered, not merely unhealthy: a client asking for every instance sees the same.
  CHECK(nacos.hosts("hello", false).size() == 1);
  t0 = Clock::now();
  b.set_serving(true);
  auto back = wait_for_ports(nacos, "hello", {a.port(), b.port()}, true, t0);
  REQUIRE(back);
  record_ms("nacos: SERVING again to listed", back->count());

  t0 = Clock::now();
  const auto status = daemon.terminate();
  CHECK(status.exited_with(0));
  CHECK(nacos.hosts("hello", false).empty());  // gone at once, not by expiry
  record_ms("nacos: SIGTERM to exit, instances deregistered",
            std::chrono::duration_cast<Millis>(Clock::now() - t0).count());
}

TEST_CASE("nacos: drain (SIGUSR1) takes every instance out while the daemon runs", "[nacos]") {
  if (!have_nacos_double()) return;
  NacosDouble nacos({.time_scale = 0.1});
  HelloService a;
  NacosParams p;
  p.servers = {nacos.host_port()};
  p.services = {entry_for(a, "hello-a")};
  Daemon daemon(nacos_manifest_yaml(p));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_ports(nacos, "hello", {a.port()}, true, Clock::now()));
  daemon.signal(SIGUSR1);
  REQUIRE(wait_for_ports(nacos, "hello", {}, false, Clock::now()));
  CHECK(daemon.running());
}

TEST_CASE("nacos: with auth on, the daemon logs in and secrets never reach the log", "[nacos]") {
  if (!have_nacos_double()) return;
  const std::string password = "n4c0s-S3cret-pw";
  NacosDouble nacos({.time_scale = 0.1, .user = "registrar", .password = password});
  HelloService a;
  registrar::test::TempDir dir("registrar-nacos-auth");
  const auto pw_file = dir.write_file("nacos-password", password + "\n");
  std::filesystem::permissions(pw_file, std::filesystem::perms::owner_read);
  NacosParams p;
  p.servers = {nacos.host_port()};
  p.username = "registrar";
  p.password_file = pw_file.string();
  p.services = {entry_for(a, "hello-a")};
  Daemon daemon(nacos_manifest_yaml(p));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_ports(nacos, "hello", {a.port()}, true, Clock::now()));
  // Expired tokens: the next beat is refused (403), the daemon logs in again, stays listed.
  const auto logins = nacos.stats().value("logins", 0);
  nacos.expire_tokens();
  CHECK(registrar::test::wait_until([&] { return nacos.stats().value("logins", 0) > logins; }, 5s));
  CHECK(nacos.hosts("hello", true).size() == 1);
  CHECK(daemon.log().find(password) == std::string::npos);
  CHECK(daemon.log().find("accessToken") == std::string::npos);
}

TEST_CASE("nacos: check renders the registry.nacos section", "[nacos]") {
  if (!have_nacos_double()) return;
  NacosParams p;
  p.servers = {"127.0.0.1:8848", "127.0.0.2:8848"};
  ServiceEntry hello;
  hello.port = 50051;
  p.services = {hello};
  registrar::test::TempDir dir("registrar-nacos-check");
  const auto path = dir.write_file("m.yaml", nacos_manifest_yaml(p));
  const auto r = run_registrar({"check", "-c", path.string()});
  CHECK(r.status.exited_with(0));
  CHECK(r.out.find("kind: nacos") != std::string::npos);
  CHECK(r.out.find("127.0.0.2:8848") != std::string::npos);
  CHECK(r.out.find("group: DEFAULT_GROUP") != std::string::npos);
}
