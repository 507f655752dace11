// Issue 7 part 3, Consul over HTTPS, end to end: the real daemon against the Consul agent double
// serving HTTPS (and mTLS with verify_incoming), with certificates made at test time (TestPki).
// Registration through https:// + registry.consul.tls and through Consul's environment variables
// only; an ACL token from a file over HTTPS; SIGTERM deregisters; `deregister --consul` over
// HTTPS; and the failures (wrong CA, no client certificate, a client certificate from another
// CA, wrong server_name): one clear log line, retried, nothing registered, no crash, and a CA
// file fixed in place is picked up by the next connection.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "consul_itest.hpp"
#include "support/certs.hpp"
#include "support/paths.hpp"
#include "support/secrets.hpp"

using namespace registrar::itest;
using nlohmann::json;
using registrar::test::ConsulDouble;
using registrar::test::ConsulDoubleOptions;
using registrar::test::EnvVars;
using registrar::test::https_options;
using registrar::test::ManifestFile;
using registrar::test::Process;
using registrar::test::TempDir;
using registrar::test::TestPki;
using Clock = std::chrono::steady_clock;

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `yaml` (consul_manifest_yaml) with a registry.consul.tls section.
std::string with_tls(std::string yaml, const std::string& tls_block) {
  const std::string anchor = "  consul:\n";
  const auto at = yaml.find(anchor);
  REQUIRE(at != std::string::npos);
  yaml.insert(at + anchor.size(), "    tls:\n" + tls_block);
  return yaml;
}

std::string tls_line(const std::string& key, const std::string& value) {
  return "      " + key + ": \"" + value + "\"\n";
}

ConsulParams params(const ConsulDouble& consul, const HelloService& hello) {
  ConsulParams p;
  p.address = consul.address();
  p.services = {entry_for(hello, "hello-1")};
  return p;
}

// The daemon with extra environment variables (Daemon has none), logging to stderr.
std::unique_ptr<Process> start_daemon(const ManifestFile& manifest, const EnvVars& env) {
  return std::make_unique<Process>(
      *registrar::test::registrar_bin(),
      std::vector<std::string>{"run", "-c", manifest.path().string(), "--log-level", "debug"}, env,
      "grpc-registrar");
}

std::size_t count_lines(const std::string& text, const std::regex& re) {
  std::size_t n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) n += std::regex_search(line, re) ? 1 : 0;
  return n;
}

std::size_t handshake_errors(ConsulDouble& consul) {
  return count_lines(consul.process()->stderr_text(), std::regex("TLS handshake error"));
}

// A failing TLS setup: the one log line matching `cause`, at least three handshakes refused by
// the agent meanwhile (retried), the line still logged once, nothing registered, still running.
void expect_refused_and_retried(ConsulDouble& consul, Process& daemon, const std::string& cause) {
  REQUIRE(daemon.wait_for_line(registrar::test::Stream::Stderr,
                               std::regex("unreachable .*" + cause), 10s));
  REQUIRE(wait_until([&] { return handshake_errors(consul) >= 3; }, 10s));
  record("consul https: handshakes the agent refused before the check",
         std::to_string(handshake_errors(consul)));
  CHECK(count_lines(daemon.stderr_text(), std::regex("unreachable")) == 1);
  CHECK(daemon.running());
  CHECK(consul.agent_services().empty());
}

}  // namespace

TEST_CASE("consul https: mTLS via https:// and registry.consul.tls, a token file, SIGTERM",
          "[consul][security]") {
  if (!have_consul_double()) return;
  TestPki pki;
  ConsulDoubleOptions o = https_options(pki, /*verify_incoming=*/true);
  o.token = registrar::test::kKnownToken;
  ConsulDouble consul(o);
  HelloService hello;
  TempDir dir("registrar-consul-tls");
  const auto token_file = dir.write_file("token", std::string(registrar::test::kKnownToken) + "\n");
  ::chmod(token_file.c_str(), 0600);

  ConsulParams p = params(consul, hello);
  REQUIRE(p.address.rfind("https://127.0.0.1:", 0) == 0);
  p.token_file = token_file.string();
  const std::string yaml =
      with_tls(consul_manifest_yaml(p), tls_line("ca_file", pki.ca().string()) +
                                            tls_line("cert_file", pki.client().cert.string()) +
                                            tls_line("key_file", pki.client().key.string()));
  const auto started = Clock::now();
  Daemon daemon(yaml);
  DumpOnFailure dump(daemon.process());

  const auto passing = wait_for_check(consul, "grpc-registrar:hello-1", "passing", started);
  REQUIRE(passing);
  record_ms("consul https: start to check passing (mTLS)", passing->count());
  // What a client of the registry sees: the instance among the passing ones.
  const json healthy = consul.health_service("hello", /*passing=*/true);
  REQUIRE(healthy.size() == 1);
  CHECK(healthy[0].at("Service").at("ID") == "hello-1");
  CHECK(healthy[0].at("Service").at("Port") == hello.port());
  // Every request of the daemon went over the HTTPS listener, with the token from the file; a
  // few TTL refreshes (every check_ttl / 3) later, still on the first connection.
  REQUIRE(wait_until([&] { return daemon_requests(consul).size() >= 6; }, 5s, 100ms));
  const json log = daemon_requests(consul);
  REQUIRE_FALSE(log.empty());
  std::set<std::string> connections;
  for (const auto& r : log) {
    CHECK(r.at("headers").value("X-Consul-Token", "") == o.token);
    CHECK_FALSE(r.at("tls").get<std::string>().empty());
    connections.insert(r.at("remote").get<std::string>());
  }
  // Keep-alive over TLS: one connection (one handshake) carried every request.
  record("consul https: daemon requests / TLS connections",
         std::to_string(log.size()) + " / " + std::to_string(connections.size()));
  CHECK(connections.size() == 1);
  CHECK(
      daemon.find_log(std::regex("Consul agent at https://127\\.0\\.0\\.1:[0-9]+, ACL token: "
                                 "registry\\.consul\\.token_file")));
  CHECK(daemon.find_log(std::regex("HTTPS to the Consul agent: CA .*ca\\.pem")));
  CHECK_FALSE(daemon.find_log(std::regex("VERIFICATION IS OFF")));
  CHECK(never_mentions(daemon.log(), registrar::test::kKnownToken));

  CHECK(daemon.terminate().exited_with(0));
  CHECK(consul.agent_services().empty());
  CHECK(daemon.find_log(std::regex("all services deregistered from the Consul agent")));
}

TEST_CASE("consul https: CONSUL_HTTP_SSL and the CONSUL_CACERT family only, and the deregister CLI",
          "[consul][security]") {
  if (!have_consul_double()) return;
  TestPki pki;
  ConsulDouble consul(https_options(pki, /*verify_incoming=*/true));
  HelloService hello;
  ConsulParams p = params(consul, hello);
  p.address = consul.host_port();  // no scheme, no tls section: the environment decides
  ManifestFile manifest(consul_manifest_yaml(p));
  const EnvVars env{{"CONSUL_HTTP_SSL", "true"},
                    {"CONSUL_CACERT", pki.ca().string()},
                    {"CONSUL_CLIENT_CERT", pki.client().cert.string()},
                    {"CONSUL_CLIENT_KEY", pki.client().key.string()}};
  auto daemon = start_daemon(manifest, env);
  DumpOnFailure dump(*daemon);
  REQUIRE(wait_for_check(consul, "grpc-registrar:hello-1", "passing", Clock::now()));
  CHECK(daemon->find_line(registrar::test::Stream::Stderr,
                          std::regex("Consul agent at https://127\\.0\\.0\\.1:")));

  // Left behind by a SIGKILL; removed by the one-off command over HTTPS, same variables.
  daemon->kill9();
  REQUIRE(consul.agent_services().contains("hello-1"));
  const auto wrong = registrar::test::run_registrar(
      {"deregister", "--consul", consul.address(), "--id", "hello-1", "--timeout", "2s"},
      {{"CONSUL_CACERT", pki.other_ca().string()},
       {"CONSUL_CLIENT_CERT", pki.client().cert.string()},
       {"CONSUL_CLIENT_KEY", pki.client().key.string()}});
  CHECK(wrong.status.exited_with(69));
  CHECK(wrong.err.find("not signed by a trusted CA") != std::string::npos);
  CHECK(consul.agent_services().contains("hello-1"));
  const auto ok = registrar::test::run_registrar(
      {"deregister", "--consul", consul.host_port(), "--id", "hello-1", "--timeout", "2s"}, env);
  CHECK(ok.status.exited_with(0));
  CHECK(ok.out.find("deregistered service hello-1") != std::string::npos);
  CHECK(consul.agent_services().empty());
}

TEST_CASE("consul https: a wrong CA is logged once, retried, and a CA file fixed in place is used",
          "[consul][security]") {
  if (!have_consul_double()) return;
  TestPki pki;
  ConsulDouble consul(https_options(pki, /*verify_incoming=*/false));
  HelloService hello;
  TempDir dir("registrar-consul-tls");
  const auto ca = dir.write_file("ca.pem", slurp(pki.other_ca()));
  const std::string yaml =
      with_tls(consul_manifest_yaml(params(consul, hello)), tls_line("ca_file", ca.string()));
  Daemon daemon(yaml);
  DumpOnFailure dump(daemon.process());
  expect_refused_and_retried(
      consul, daemon.process(),
      "TLS: the agent's certificate is not signed by a trusted CA \\(check "
      "registry\\.consul\\.tls\\.ca_file / CONSUL_CACERT \\(.*ca\\.pem\\)\\)");

  dir.write_file("ca.pem", slurp(pki.ca()));  // rewritten in place: same path, same inode
  const auto fixed = Clock::now();
  const auto passing = wait_for_check(consul, "grpc-registrar:hello-1", "passing", fixed);
  REQUIRE(passing);
  record_ms("consul https: CA file fixed to check passing", passing->count());
  CHECK(daemon.wait_for_log(std::regex("Consul agent reachable at https://"), 5s));
  CHECK(daemon.terminate().exited_with(0));
  CHECK(consul.agent_services().empty());
}

TEST_CASE("consul https: client certificate and name failures are clear, retried, never fatal",
          "[consul][security]") {
  if (!have_consul_double()) return;
  TestPki pki;
  ConsulDouble consul(https_options(pki, /*verify_incoming=*/true));
  HelloService hello;
  const std::string base = consul_manifest_yaml(params(consul, hello));
  const std::string ca = tls_line("ca_file", pki.ca().string());

  SECTION("no client certificate for an agent with verify_incoming") {
    Daemon daemon(with_tls(base, ca));
    DumpOnFailure dump(daemon.process());
    expect_refused_and_retried(
        consul, daemon.process(),
        "TLS: the agent requires a client certificate \\(verify_incoming\\); set "
        "registry\\.consul\\.tls\\.cert_file / CONSUL_CLIENT_CERT");
    CHECK(daemon.terminate().exited_with(0));
  }
  SECTION("a client certificate signed by another CA") {
    Daemon daemon(with_tls(base, ca + tls_line("cert_file", pki.foreign_client().cert.string()) +
                                     tls_line("key_file", pki.foreign_client().key.string())));
    DumpOnFailure dump(daemon.process());
    expect_refused_and_retried(consul, daemon.process(),
                               "TLS: the agent refused our client certificate");
    CHECK(daemon.terminate().exited_with(0));
  }
  SECTION("server_name the agent's certificate does not carry") {
    Daemon daemon(with_tls(base, ca + tls_line("cert_file", pki.client().cert.string()) +
                                     tls_line("key_file", pki.client().key.string()) +
                                     tls_line("server_name", "consul.wrong.example")));
    DumpOnFailure dump(daemon.process());
    expect_refused_and_retried(consul, daemon.process(),
                               "TLS: the agent's certificate is not valid for "
                               "\"consul\\.wrong\\.example\" \\(check "
                               "registry\\.consul\\.tls\\.server_name / CONSUL_TLS_SERVER_NAME");
    CHECK(daemon.terminate().exited_with(0));
  }
  SECTION("server_name localhost (a DNS SAN of the agent's certificate) is accepted") {
    Daemon daemon(with_tls(base, ca + tls_line("cert_file", pki.client().cert.string()) +
                                     tls_line("key_file", pki.client().key.string()) +
                                     tls_line("server_name", "localhost")));
    DumpOnFailure dump(daemon.process());
    REQUIRE(wait_for_check(consul, "grpc-registrar:hello-1", "passing", Clock::now()));
    CHECK(daemon.terminate().exited_with(0));
    CHECK(consul.agent_services().empty());
  }
}
