// The Consul backend end to end: the real daemon, real hello-service processes, the Consul agent
// double. Registration body, TTL refresh, health changes, SIGTERM, the environment variables,
// go-kit's Consul Instancer, and one manifest for both backends. Timings are printed
// (MEASURED), never asserted.
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "consul_itest.hpp"
#include "support/paths.hpp"
#include "support/require.hpp"
#include "support/secrets.hpp"

using namespace registrar::itest;
using nlohmann::json;
using registrar::test::ConsulDouble;
using registrar::test::ConsulDoubleOptions;
using Clock = std::chrono::steady_clock;

namespace {

ConsulDoubleOptions with_token(const std::string& token) {
  ConsulDoubleOptions o;
  o.token = token;
  return o;
}

ServiceEntry hello_entry(const HelloService& hello, const std::string& id,
                         const std::string& name = "hello") {
  ServiceEntry e = entry_for(hello, id);
  e.name = name;
  e.tags = {"v1", "blue"};
  e.meta = {{"zone", "a"}};
  return e;
}

}  // namespace

TEST_CASE(
    "consul: the registration body is exactly what Consul documents, the token in the header only",
    "[consul]") {
  if (!have_consul_double()) return;
  const std::string token = registrar::test::kKnownToken;
  ConsulDouble consul(with_token(token));
  HelloService hello;
  ConsulParams p;
  p.address = consul.address();
  p.token_file = consul.token_file().string();
  p.services = {hello_entry(hello, "hello-1")};
  const auto started = Clock::now();
  Daemon daemon(consul_manifest_yaml(p));
  DumpOnFailure dump(daemon.process());

  const auto passing = wait_for_check(consul, "grpc-registrar:hello-1", "passing", started);
  REQUIRE(passing);
  record_ms("consul: start to check passing", passing->count());

  const json log = daemon_requests(consul);
  const auto registers = requests_to(log, "PUT", "/v1/agent/service/register");
  REQUIRE(registers.size() == 1);
  const json& reg = registers.front();
  CHECK(reg.at("query") == "replace-existing-checks=true");
  CHECK(reg.at("status") == 200);
  CHECK(reg.at("headers").at("Content-Type") == "application/json");
  json body = json::parse(reg.at("body").get<std::string>());
  // Registered before or after the first probe result: the initial Status says which.
  const std::string initial = body.at("Check").at("Status");
  CHECK((initial == "critical" || initial == "passing"));
  body["Check"].erase("Status");
  const json expected = {
      {"ID", "hello-1"},
      {"Name", "hello"},
      {"Tags", {"v1", "blue"}},
      {"Address", "127.0.0.1"},
      {"Port", hello.port()},
      {"Meta",
       {{"zone", "a"}, {"managed-by", "grpc-registrar"}, {"grpc-registrar-owner", "itest"}}},
      {"Check",
       {{"CheckID", "grpc-registrar:hello-1"},
        {"Name", "gRPC health (grpc-registrar)"},
        {"Notes",
         "grpc.health.v1 result pushed by grpc-registrar every 333ms (TTL 1s); Consul "
         "deregisters the service after 1m critical"},
        {"TTL", "1s"},
        {"DeregisterCriticalServiceAfter", "1m"}}}};
  CHECK(body == expected);

  // Right after it, through the TTL update endpoint: the Output, with the status it goes with.
  // The update carries the verdict current when it is sent: a service registered critical whose
  // first probe result came in meanwhile is already passing in it (seen in 1 run of 3 here).
  const auto updates = requests_to(log, "PUT", "/v1/agent/check/update/grpc-registrar:hello-1");
  REQUIRE_FALSE(updates.empty());
  const json first_update = json::parse(updates.front().at("body").get<std::string>());
  if (first_update.at("Status") == "critical") {
    CHECK(initial == "critical");
    CHECK(first_update.at("Output") == "no probe result yet");
  } else {
    CHECK(first_update.at("Status") == "passing");
    CHECK(first_update.at("Output") == "SERVING (watch)");
  }
  const auto check = try_check(consul, "grpc-registrar:hello-1");
  REQUIRE(check);
  CHECK(check->at("Output") == "SERVING (watch)");
  CHECK(check->at("ServiceID") == "hello-1");

  // The token: in X-Consul-Token on every request, never in a URL, never in the daemon's output.
  for (const auto& r : log) {
    CHECK(r.at("headers").at("X-Consul-Token") == token);
    CHECK(r.at("query").get<std::string>().find(token) == std::string::npos);
  }
  const auto st = daemon.terminate();
  CHECK(st.exited_with(0));
  CHECK(never_mentions(daemon.log(), token));
  CHECK(never_mentions(daemon.process().stdout_text(), token));
}

TEST_CASE("consul: TTL refreshes keep the check passing for several TTLs", "[consul]") {
  if (!have_consul_double()) return;
  ConsulDouble consul;
  HelloService hello;
  ConsulParams p;
  p.address = consul.address();
  p.services = {hello_entry(hello, "hello-1")};
  Daemon daemon(consul_manifest_yaml(p));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_check(consul, "grpc-registrar:hello-1", "passing", Clock::now()));
  const auto since = consul.requests().back().at("seq").get<std::uint64_t>();

  // 3.5 TTLs of 1 s, looking every 20 ms: the check must never be anything but passing.
  const auto start = Clock::now();
  int looks = 0;
  std::string seen = "passing";
  wait_until(
      [&] {
        ++looks;
        auto c = try_check(consul, "grpc-registrar:hello-1");
        if (!c || c->value("Status", "") != "passing") {
          seen = c ? c->value("Status", "") + " (" + c->value("Output", "") + ")" : "missing";
          return true;
        }
        return Clock::now() - start >= 3500ms;
      },
      5s, 20ms);
  CHECK(seen == "passing");
  const auto refreshes =
      requests_to(daemon_requests(consul, since), "PUT", "/v1/agent/check/update/").size();
  record("consul: TTL refreshes in 3.5 s (TTL 1 s)", std::to_string(refreshes));
  CHECK(refreshes >= 3);  // one per TTL at the very least, or it would have expired
  CHECK(requests_to(daemon_requests(consul), "PUT", "/v1/agent/service/register").size() == 1);
  INFO("looked " << looks << " times");
  CHECK(daemon.terminate().exited_with(0));
}

TEST_CASE("consul: a health flip turns the check critical with the probe's output, and back",
          "[consul]") {
  if (!have_consul_double()) return;
  ConsulDouble consul;
  HelloService hello;
  ConsulParams p;
  p.address = consul.address();
  p.check_ttl = "10s";  // refreshes far apart: only the pushed change can explain a fast flip
  p.request_timeout = "1s";
  p.services = {hello_entry(hello, "hello-1")};
  Daemon daemon(consul_manifest_yaml(p));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_check(consul, "grpc-registrar:hello-1", "passing", Clock::now()));

  const auto from = daemon.log_size();
  auto t0 = Clock::now();
  hello.set_serving(false);
  const auto critical =
      wait_for_check(consul, "grpc-registrar:hello-1", "critical", t0, 3s, "NOT_SERVING (watch)");
  REQUIRE(critical);
  record_ms("consul: NOT_SERVING to check critical", critical->count());
  record_ms("consul: daemon's probe result to critical",
            wait_for_daemon_latency(daemon, "hello-1", "check critical", from));

  t0 = Clock::now();
  hello.set_serving(true);
  const auto passing =
      wait_for_check(consul, "grpc-registrar:hello-1", "passing", t0, 3s, "SERVING (watch)");
  REQUIRE(passing);
  record_ms("consul: SERVING to check passing", passing->count());
  // One registration for the whole life of the service: health travels as check updates.
  CHECK(requests_to(daemon_requests(consul), "PUT", "/v1/agent/service/register").size() == 1);
  CHECK(daemon.terminate().exited_with(0));
}

TEST_CASE("consul: SIGTERM deregisters every service, then the daemon exits 0", "[consul]") {
  if (!have_consul_double()) return;
  ConsulDouble consul;
  HelloService hello;
  ConsulParams p;
  p.address = consul.address();
  p.services = {hello_entry(hello, "hello-1"), hello_entry(hello, "hello-2", "hello2")};
  Daemon daemon(consul_manifest_yaml(p));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_check(consul, "grpc-registrar:hello-1", "passing", Clock::now()));
  REQUIRE(wait_for_check(consul, "grpc-registrar:hello-2", "passing", Clock::now()));

  const auto t0 = Clock::now();
  const auto st = daemon.terminate();
  record_ms("consul: SIGTERM to exit",
            std::chrono::duration_cast<Millis>(Clock::now() - t0).count());
  CHECK(st.exited_with(0));
  const auto services = try_services(consul);
  REQUIRE(services);
  CHECK(services->empty());
  CHECK(try_check(consul, "grpc-registrar:hello-1") == std::nullopt);
  const json log = daemon_requests(consul);
  CHECK(requests_to(log, "PUT", "/v1/agent/service/deregister/hello-1").size() == 1);
  CHECK(requests_to(log, "PUT", "/v1/agent/service/deregister/hello-2").size() == 1);
  CHECK(daemon.find_log(std::regex("all services deregistered from the Consul agent")));
}

TEST_CASE("consul: CONSUL_HTTP_ADDR and CONSUL_HTTP_TOKEN_FILE from the environment", "[consul]") {
  if (!have_consul_double()) return;
  const std::string token = registrar::test::kKnownToken;
  ConsulDouble consul(with_token(token));
  HelloService hello;
  const std::string yaml =
      "registry:\n  kind: consul\n  consul: {owner: env-test, check_ttl: 2s, request_timeout: "
      "500ms}\n"
      "services:\n  - {name: hello, id: hello-1, address: 127.0.0.1, port: " +
      std::to_string(hello.port()) + "}\n";
  registrar::test::ManifestFile manifest(yaml);
  Process daemon(*registrar::test::registrar_bin(), {"run", "-c", manifest.path().string()},
                 {{"CONSUL_HTTP_ADDR", consul.host_port()},
                  {"CONSUL_HTTP_TOKEN_FILE", consul.token_file().string()},
                  // Ignored when a file is given (it is wrong: only the file's token works).
                  {"CONSUL_HTTP_TOKEN", registrar::test::kKnownPassword}},
                 "grpc-registrar");
  DumpOnFailure dump(daemon);
  REQUIRE(wait_for_check(consul, "grpc-registrar:hello-1", "passing", Clock::now()));
  CHECK(daemon.find_line(registrar::test::Stream::Stderr,
                         std::regex("ACL token: CONSUL_HTTP_TOKEN_FILE \\(")));
  daemon.signal(SIGTERM);
  const auto st = daemon.wait_exit(10s);
  REQUIRE(st);
  CHECK(st->exited_with(0));
  CHECK(never_mentions(daemon.stderr_text(), token));
  CHECK(never_mentions(daemon.stderr_text(), registrar::test::kKnownPassword));
}

TEST_CASE("consul: go-kit's Consul Instancer lists exactly the healthy instances", "[consul]") {
  if (!have_consul_double()) return;
  const auto client = gokit_consul_client_bin();
  if (!need(client.has_value(), "gokit-consul-client not built (target interop_clients, with go)"))
    return;
  ConsulDouble consul;
  HelloService a;
  HelloService b;
  ConsulParams p;
  p.address = consul.address();
  p.services = {hello_entry(a, "hello-a"), hello_entry(b, "hello-b")};
  Daemon daemon(consul_manifest_yaml(p));
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_check(consul, "grpc-registrar:hello-a", "passing", Clock::now()));
  REQUIRE(wait_for_check(consul, "grpc-registrar:hello-b", "passing", Clock::now()));

  auto instances = [&](int expect) {
    return run_command(*client,
                       {"--consul", consul.address(), "--service", "hello", "--tags", "v1,blue",
                        "--expect", std::to_string(expect), "--timeout", "8s"},
                       15s);
  };
  auto both = instances(2);
  CHECK(both.status.exited_with(0));
  CHECK(non_empty_lines(both.out) ==
        std::vector<std::string>{a.target() < b.target() ? a.target() : b.target(),
                                 a.target() < b.target() ? b.target() : a.target()});

  b.set_serving(false);  // still registered in Consul, but critical: not listed
  REQUIRE(wait_for_check(consul, "grpc-registrar:hello-b", "critical", Clock::now()));
  auto one = instances(1);
  CHECK(one.status.exited_with(0));
  CHECK(non_empty_lines(one.out) == std::vector<std::string>{a.target()});
  CHECK(try_services(consul).value_or(json::object()).contains("hello-b"));

  // A tag the instances do not carry: nothing.
  auto none = run_command(
      *client,
      {"--consul", consul.address(), "--service", "hello", "--tags", "v2", "--timeout", "5s"}, 10s);
  CHECK(none.status.exited_with(0));
  CHECK(non_empty_lines(none.out).empty());
  CHECK(daemon.terminate().exited_with(0));
}

TEST_CASE("one manifest for both backends: only registry.kind changes", "[consul]") {
  if (!have_consul_double()) return;
  EtcdServer etcd;
  ConsulDouble consul;
  HelloService hello;
  ConsulParams p;
  p.endpoints = {etcd.endpoint()};
  p.address = consul.address();
  p.services = {hello_entry(hello, "hello-1")};
  p.kind = "etcd";
  const std::string for_etcd = consul_manifest_yaml(p);
  p.kind = "consul";
  const std::string for_consul = consul_manifest_yaml(p);
  REQUIRE(std::regex_replace(for_etcd, std::regex("kind: etcd"), "kind: consul") == for_consul);

  {
    Daemon daemon(for_etcd);
    DumpOnFailure dump(daemon.process());
    const Etcdctl ctl = etcd.ctl();
    CHECK(wait_for_keys(ctl, "/services/", {"/services/hello/hello-1"}));
    CHECK(daemon.terminate().exited_with(0));
    CHECK(wait_for_keys(ctl, "/services/", {}));
  }
  CHECK(try_services(consul).value_or(json{{"x", 1}}).empty());  // etcd run: Consul untouched
  {
    Daemon daemon(for_consul);
    DumpOnFailure dump(daemon.process());
    CHECK(wait_for_check(consul, "grpc-registrar:hello-1", "passing", Clock::now()));
    CHECK(daemon.terminate().exited_with(0));
    CHECK(wait_for_services(consul, {}));
  }
  CHECK(try_get_prefix(etcd.ctl(), "/services/").value_or(std::vector<KeyValue>{{}}).empty());
}
