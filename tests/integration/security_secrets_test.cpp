// Secrets hygiene (issue 7, part 5), end to end with the real binary: a Consul ACL token (from a
// file, from the environment, inline) and an etcd password (from $ETCDCTL_PASSWORD, from a file)
// never show in the daemon's log at debug level (text and JSON; start, registration, a health
// change, a SIGHUP reload, SIGTERM), in `grpc-registrar check` (the effective configuration) or
// `status`, in /v1/services or /metrics, or in the errors after a 403 or a wrong password;
// --token on the command line works with a warning, is never echoed and is overwritten in
// /proc/PID/cmdline, and other secret-looking flags are refused without echoing them;
// world-readable secret files are warned about by the daemon and by `check`, and unreadable or
// missing files are errors of `check`.
// Every secret is one of support/secrets.hpp, so scripts/scan-secrets (tested here too) would
// also find it in the outputs the suite collects.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "consul_itest.hpp"
#include "ops_itest.hpp"
#include "support/paths.hpp"
#include "support/secrets.hpp"

using namespace registrar::itest;
using nlohmann::json;
using registrar::test::ConsulDouble;
using registrar::test::ConsulDoubleOptions;
using registrar::test::kKnownPassword;
using registrar::test::kKnownToken;
using registrar::test::ManifestFile;
using Clock = std::chrono::steady_clock;

namespace {

// The names of the known secrets `text` contains. Never the values: Catch prints this on failure.
std::vector<std::string> secrets_in(const std::string& text) {
  std::vector<std::string> found;
  if (text.find(kKnownToken) != std::string::npos) found.push_back("kKnownToken");
  if (text.find(kKnownPassword) != std::string::npos) found.push_back("kKnownPassword");
  return found;
}

// A Consul double with ACLs on: kKnownToken is the only token it accepts.
ConsulDoubleOptions with_acl() {
  ConsulDoubleOptions o;
  o.token = kKnownToken;
  return o;
}

std::string write_secret(const TempDir& dir, const std::string& name, const std::string& content,
                         mode_t mode) {
  const auto path = dir.write_file(name, content);
  REQUIRE(::chmod(path.c_str(), mode) == 0);
  return path.string();
}

std::string escaped(const std::string& s) {
  return std::regex_replace(s, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)");
}

std::string with_status(const std::string& yaml) {
  return yaml + "status:\n  listen: \"127.0.0.1:0\"\n";
}

// What a running daemon shows to anyone who reaches its status port: every endpoint, and what
// `grpc-registrar status` prints. Non-empty (the service's id is in it) when the daemon answers.
std::string status_surfaces(std::uint16_t port) {
  std::string all;
  for (const char* path : {"/v1/services", "/metrics", "/healthz", "/readyz"}) {
    const auto r = http(port, path);
    if (r) all += std::string(path) + " " + std::to_string(r->status) + "\n" + r->body + "\n";
  }
  const auto st =
      run_registrar({"status", "--status-address", "127.0.0.1:" + std::to_string(port)});
  return all + st.out + st.err;
}

// A daemon run with extra environment (start_registrar), logging at debug level.
std::unique_ptr<Process> start_daemon(const std::filesystem::path& manifest,
                                      const std::string& format, const EnvVars& env = {}) {
  return start_registrar(
      {"run", "-c", manifest.string(), "--log-level", "debug", "--log-format", format}, env);
}

ExitStatus stop(Process& p) {
  p.signal(SIGTERM);
  if (auto st = p.wait_exit(10s)) return *st;
  return p.kill9();
}

// --- etcd with authentication -------------------------------------------------------------

constexpr const char* kEtcdUser = "grpc-registrar";
constexpr const char* kEtcdOwner = "secrets-test";

// etcdctl as root (its password, kKnownPassword, goes through the environment).
CommandResult etcdctl_root(const EtcdServer& etcd, std::vector<std::string> args) {
  args.insert(args.begin(), "--endpoints=" + etcd.endpoint());
  return run_command(
      registrar::test::etcdctl_bin(), args, 15s,
      {{"ETCDCTL_API", "3"}, {"ETCDCTL_USER", "root"}, {"ETCDCTL_PASSWORD", kKnownPassword}});
}

// The least-privilege set-up of docs/security.md: a role with readwrite on the service prefix
// and on this daemon's ownership record, a user with that role (password kKnownPassword), root,
// then auth on.
void enable_etcd_auth(const EtcdServer& etcd) {
  const std::string role = "grpc-registrar";
  const std::vector<std::vector<std::string>> steps{
      {"user", "add", std::string("root:") + kKnownPassword},
      {"user", "grant-role", "root", "root"},
      {"role", "add", role},
      {"role", "grant-permission", role, "--prefix=true", "readwrite", "/services/"},
      {"role", "grant-permission", role, "readwrite",
       std::string("/grpc-registrar/owners/") + kEtcdOwner},
      {"user", "add", std::string(kEtcdUser) + ":" + kKnownPassword},
      {"user", "grant-role", kEtcdUser, role},
      {"auth", "enable"},
  };
  for (const auto& step : steps) {
    // Before `auth enable` the root credentials are ignored by etcd.
    const CommandResult r = etcdctl_root(etcd, step);
    INFO("etcdctl " << step.at(0) << " " << step.at(1) << ": " << r.err);
    REQUIRE(r.status.exited_with(0));
  }
}

std::optional<std::string> etcd_value(const EtcdServer& etcd, const std::string& key) {
  const CommandResult r = etcdctl_root(etcd, {"get", key, "--print-value-only"});
  if (!r.status.exited_with(0) || r.out.empty()) return std::nullopt;
  return r.out;
}

std::string etcd_manifest(const EtcdServer& etcd, const HelloService& hello,
                          const std::string& password_file = "") {
  std::string y =
      "registry:\n"
      "  kind: etcd\n"
      "  etcd:\n"
      "    endpoints: [\"" +
      etcd.endpoint() +
      "\"]\n"
      // Long enough that a killed run's lease outlives the `check` and the start of the run
      // that adopts it, even on a loaded machine (2 s did not, once, under ASan).
      "    lease_ttl: 10s\n"
      "    dial_timeout: 1s\n"
      "    owner: " +
      kEtcdOwner + "\n    username: " + kEtcdUser + "\n";
  if (!password_file.empty()) y += "    password_file: \"" + password_file + "\"\n";
  y += "  backoff: {initial: 100ms, max: 1s}\n"
       "defaults:\n"
       "  probe: {mode: watch, interval: 200ms, timeout: 500ms}\n"
       "services:\n"
       "  - {name: hello, id: hello-1, address: 127.0.0.1, port: " +
       std::to_string(hello.port()) + "}\n";
  return with_status(y);
}

const std::string kHelloKey = "/services/hello/hello-1";

}  // namespace

TEST_CASE("secrets: a Consul token file never shows in the log (text and JSON), check or status",
          "[security][secrets][consul]") {
  if (!have_consul_double()) return;
  ConsulDouble consul(with_acl());
  HelloService hello;
  TempDir dir("secrets-consul");
  const std::string token_file =
      write_secret(dir, "consul.token", std::string(kKnownToken) + "\n", 0644);
  ConsulParams p;
  p.address = consul.address();
  p.token_file = token_file;
  p.services = {entry_for(hello, "hello-1")};
  const std::string one_service = with_status(consul_manifest_yaml(p));
  p.services.push_back(entry_for(hello, "hello-2"));
  const std::string two_services = with_status(consul_manifest_yaml(p));
  const ManifestFile manifest(one_service);
  const std::regex world_readable(escaped(token_file) +
                                  " is readable by every local user \\(mode 0644\\)");

  for (const std::string format : {"text", "json"}) {
    INFO("--log-format " << format);
    consul.clear_requests();
    std::ofstream(manifest.path(), std::ios::trunc) << one_service;
    auto d = start_daemon(manifest.path(), format);
    DumpOnFailure dump(*d);
    const auto port = wait_for_status_port(*d);
    REQUIRE(port);
    REQUIRE(wait_for_check(consul, "grpc-registrar:hello-1", "passing", Clock::now()));
    // The token was used (the double refuses anything else), in the header only.
    const json requests = daemon_requests(consul);
    REQUIRE_FALSE(requests.empty());
    for (const auto& r : requests) CHECK((r.at("headers").at("X-Consul-Token") == kKnownToken));

    // A health change and back: the state-change lines are logged too.
    hello.set_serving(false);
    CHECK(wait_for_check(consul, "grpc-registrar:hello-1", "critical", Clock::now()));
    hello.set_serving(true);
    CHECK(wait_for_check(consul, "grpc-registrar:hello-1", "passing", Clock::now()));

    // SIGHUP: the manifest is re-read (the token file too, by the new registration).
    std::ofstream(manifest.path(), std::ios::trunc) << two_services;
    d->signal(SIGHUP);
    CHECK(d->wait_for_line(Stream::Stderr, std::regex("reload: 1 added"), 10s));
    CHECK(wait_for_check(consul, "grpc-registrar:hello-2", "passing", Clock::now()));

    const std::string surfaces = status_surfaces(*port);
    CHECK(surfaces.find("hello-1") != std::string::npos);
    CHECK(secrets_in(surfaces).empty());

    CHECK(stop(*d).exited_with(0));
    const std::string log = d->stderr_text();
    CHECK(d->find_line(Stream::Stderr, world_readable));
    CHECK(non_empty_lines(log).size() >= 5);  // debug level: there is plenty to leak into
    if (format == "json") {
      for (const auto& line : non_empty_lines(log)) CHECK(json::parse(line).contains("msg"));
    }
    CHECK(secrets_in(log).empty());
    CHECK(secrets_in(d->stdout_text()).empty());
  }

  // `check` warns about the world-readable file, shows the path and never the token.
  CommandResult r = run_registrar({"check", "-c", manifest.path().string()});
  INFO(r.err);
  CHECK(r.status.exited_with(0));
  CHECK(r.out.find("token_file: " + token_file) != std::string::npos);
  CHECK(r.err == manifest.path().string() + ": warning: registry.consul.token_file " + token_file +
                     " is readable by every local user (mode 0644); it holds a secret: chmod o-r "
                     "it\n");
  CHECK(secrets_in(r.out + r.err).empty());
  REQUIRE(::chmod(token_file.c_str(), 0600) == 0);
  r = run_registrar({"check", "-c", manifest.path().string()});
  CHECK(r.status.exited_with(0));
  CHECK(r.err.empty());
}

TEST_CASE("secrets: a Consul token from the environment or the manifest never shows",
          "[security][secrets][consul]") {
  if (!have_consul_double()) return;
  ConsulDouble consul(with_acl());
  HelloService hello;
  ConsulParams p;
  p.address = consul.address();
  p.services = {entry_for(hello, "hello-1")};
  const ManifestFile manifest(with_status(consul_manifest_yaml(p)));
  const EnvVars env{{"CONSUL_HTTP_TOKEN", kKnownToken}};

  auto d = start_daemon(manifest.path(), "text", env);
  DumpOnFailure dump(*d);
  const auto port = wait_for_status_port(*d);
  REQUIRE(port);
  REQUIRE(wait_for_check(consul, "grpc-registrar:hello-1", "passing", Clock::now()));
  CHECK(d->find_line(Stream::Stderr, std::regex("ACL token: CONSUL_HTTP_TOKEN$")));
  CHECK(secrets_in(status_surfaces(*port)).empty());
  CHECK(stop(*d).exited_with(0));
  CHECK(secrets_in(d->stderr_text() + d->stdout_text()).empty());

  CommandResult r = run_registrar({"check", "-c", manifest.path().string()}, env);
  CHECK(r.status.exited_with(0));
  CHECK(r.out.find("token: <redacted>  # from CONSUL_HTTP_TOKEN") != std::string::npos);
  CHECK(secrets_in(r.out + r.err).empty());

  // Written into the manifest: redacted, and a warning while the manifest is world-readable.
  p.services.clear();
  const std::string inline_yaml =
      std::regex_replace(consul_manifest_yaml(p), std::regex("\n  consul:\n"),
                         std::string("\n  consul:\n    token: \"") + kKnownToken + "\"\n");
  const ManifestFile inline_manifest(inline_yaml);
  REQUIRE(::chmod(inline_manifest.path().c_str(), 0644) == 0);
  r = run_registrar({"check", "-c", inline_manifest.path().string()});
  INFO(r.err);
  CHECK(r.status.exited_with(0));
  CHECK(r.out.find("token: <redacted>") != std::string::npos);
  CHECK(r.err.find("warning: registry.consul.token is written in this manifest, which is readable "
                   "by every local user (mode 0644)") != std::string::npos);
  CHECK(secrets_in(r.out + r.err).empty());
  REQUIRE(::chmod(inline_manifest.path().c_str(), 0600) == 0);
  r = run_registrar({"check", "-c", inline_manifest.path().string()});
  CHECK(r.status.exited_with(0));
  CHECK(r.err.empty());
}

TEST_CASE("secrets: after a 403 the errors name the token's source, never a token",
          "[security][secrets][consul]") {
  if (!have_consul_double()) return;
  ConsulDouble consul(with_acl());
  HelloService hello;
  TempDir dir("secrets-403");
  // A wrong token (another known secret), readable by its owner only: no warning.
  const std::string wrong =
      write_secret(dir, "wrong.token", std::string(kKnownPassword) + "\n", 0600);
  ConsulParams p;
  p.address = consul.address();
  p.token_file = wrong;
  p.services = {entry_for(hello, "hello-1")};
  const ManifestFile manifest(with_status(consul_manifest_yaml(p)));

  auto d = start_daemon(manifest.path(), "json");
  DumpOnFailure dump(*d);
  const auto port = wait_for_status_port(*d);
  REQUIRE(port);
  const auto refused = d->wait_for_line(Stream::Stderr, std::regex("403 ACL not found"), 10s);
  REQUIRE(refused);
  CHECK(refused->line.find("registry.consul.token_file (" + wrong + ")") != std::string::npos);
  REQUIRE(wait_until([&] { return daemon_requests(consul).size() >= 3; }, 10s));  // retried
  CHECK(secrets_in(status_surfaces(*port)).empty());
  CHECK(stop(*d).exited_with(0));
  CHECK_FALSE(d->find_line(Stream::Stderr, std::regex("readable by every local user")));
  CHECK(secrets_in(d->stderr_text() + d->stdout_text()).empty());

  // The one-off deregister with the wrong token: 69, the agent's answer, no token.
  const CommandResult r = run_registrar(
      {"deregister", "--consul", consul.address(), "--token-file", wrong, "--id", "hello-1"});
  INFO(r.err);
  CHECK(r.status.exited_with(69));
  CHECK(r.err.find("403") != std::string::npos);
  CHECK(secrets_in(r.out + r.err).empty());
}

TEST_CASE("secrets: the etcd password ($ETCDCTL_PASSWORD or a file) never shows, nor a wrong one",
          "[security][secrets][etcd]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello;
  enable_etcd_auth(etcd);
  TempDir dir("secrets-etcd");

  // The password from the environment, JSON log: registered with the least-privilege role.
  const ManifestFile env_manifest(etcd_manifest(etcd, hello));
  {
    auto d = start_daemon(env_manifest.path(), "json", {{"ETCDCTL_PASSWORD", kKnownPassword}});
    DumpOnFailure dump(*d);
    const auto port = wait_for_status_port(*d);
    REQUIRE(port);
    REQUIRE(wait_until([&] { return etcd_value(etcd, kHelloKey).has_value(); }, 10s));
    CHECK(secrets_in(status_surfaces(*port)).empty());
    d->kill9();  // leaves its key and ownership record for the next run to adopt
    CHECK(secrets_in(d->stderr_text() + d->stdout_text()).empty());
  }
  CommandResult r = run_registrar({"check", "-c", env_manifest.path().string()},
                                  {{"ETCDCTL_PASSWORD", kKnownPassword}});
  CHECK(r.status.exited_with(0));
  CHECK(r.out.find("password from ETCDCTL_PASSWORD") != std::string::npos);
  CHECK(secrets_in(r.out + r.err).empty());

  // The password from a world-readable file, text log: warned about once; the next run adopts
  // what the killed one left (LeaseTimeToLive, LeaseRevoke: the role is enough for them).
  const std::string pw_file =
      write_secret(dir, "etcd.password", std::string(kKnownPassword) + "\n", 0644);
  const ManifestFile file_manifest(etcd_manifest(etcd, hello, pw_file));
  {
    auto d = start_daemon(file_manifest.path(), "text");
    DumpOnFailure dump(*d);
    const auto port = wait_for_status_port(*d);
    REQUIRE(port);
    CHECK(d->wait_for_line(Stream::Stderr, std::regex("of a previous run of this daemon"), 10s));
    REQUIRE(wait_until([&] { return etcd_value(etcd, kHelloKey).has_value(); }, 10s));
    CHECK(secrets_in(status_surfaces(*port)).empty());
    CHECK(stop(*d).exited_with(0));
    CHECK_FALSE(etcd_value(etcd, kHelloKey));  // deregistered with the role's rights
    CHECK(d->find_line(Stream::Stderr,
                       std::regex("registry\\.etcd\\.password_file " + escaped(pw_file) +
                                  " is readable by every local user \\(mode 0644\\)")));
    CHECK_FALSE(d->find_line(Stream::Stderr, std::regex("permission denied")));
    CHECK(secrets_in(d->stderr_text() + d->stdout_text()).empty());
  }
  r = run_registrar({"check", "-c", file_manifest.path().string()});
  CHECK(r.status.exited_with(0));
  CHECK(r.err.find("warning: registry.etcd.password_file " + pw_file +
                   " is readable by every local user (mode 0644)") != std::string::npos);
  CHECK(secrets_in(r.out + r.err).empty());

  // A wrong password (another known secret): a clear error, retried, quoting neither.
  {
    auto d = start_daemon(env_manifest.path(), "text", {{"ETCDCTL_PASSWORD", kKnownToken}});
    DumpOnFailure dump(*d);
    const auto port = wait_for_status_port(*d);
    REQUIRE(port);
    const auto failed = d->wait_for_line(
        Stream::Stderr,
        std::regex(std::string("etcd authentication as user \"") + kEtcdUser + "\" failed"), 10s);
    REQUIRE(failed);
    CHECK(failed->line.find(kEtcdUser) != std::string::npos);
    CHECK(failed->line.find("ETCDCTL_PASSWORD") != std::string::npos);
    CHECK(secrets_in(status_surfaces(*port)).empty());
    CHECK_FALSE(etcd_value(etcd, kHelloKey));
    CHECK(d->running());  // retried, not an exit
    stop(*d);
    CHECK(secrets_in(d->stderr_text() + d->stdout_text()).empty());
  }
  // etcd itself logs user names, never passwords.
  CHECK(secrets_in(etcd.process()->stderr_text() + etcd.process()->stdout_text()).empty());
}

TEST_CASE(
    "secrets: check refuses unreadable secret files and missing TLS files (78), warns about "
    "world-readable ones, never shows a file's content",
    "[security][secrets][check]") {
  if (!have_binaries()) return;
  TempDir dir("secrets-check");
  const std::string key_pem = std::string("-----BEGIN PRIVATE KEY-----\n") + kKnownPassword + "\n";
  const std::string open_key = write_secret(dir, "open.key", key_pem, 0644);
  const std::string own_key = write_secret(dir, "own.key", key_pem, 0600);
  const std::string probe_key = write_secret(dir, "probe.key", key_pem, 0604);
  const std::string ca = write_secret(dir, "ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
  const std::string cert = write_secret(dir, "client.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
  const std::string pw = write_secret(dir, "pw", std::string(kKnownPassword) + "\n", 0600);
  const std::string missing = (dir / "missing.pem").string();
  const std::string a_dir = dir.path().string();

  auto manifest = [&](const std::string& etcd_ca, const std::string& etcd_cert,
                      const std::string& etcd_key, const std::string& password_file) {
    return "registry:\n"
           "  kind: etcd\n"
           "  etcd:\n"
           "    endpoints: [127.0.0.1:2379]\n"
           "    username: grpc-registrar\n"
           "    password_file: \"" +
           password_file +
           "\"\n"
           "    tls: {ca_file: \"" +
           etcd_ca + "\", cert_file: \"" + etcd_cert + "\", key_file: \"" + etcd_key +
           "\"}\n"
           "defaults:\n"
           "  probe:\n"
           "    tls: {ca_file: \"" +
           ca + "\", cert_file: \"" + cert + "\", key_file: \"" + probe_key +
           "\"}\n"
           "services:\n"
           "  - {name: a, id: a-1, address: 127.0.0.1, port: 5001}\n"
           "  - {name: b, id: b-1, address: 127.0.0.1, port: 5002}\n";
  };

  SECTION("every file usable: the configuration, one warning per world-readable secret file") {
    const ManifestFile m(manifest(ca, cert, open_key, pw));
    const CommandResult r = run_registrar({"check", "-c", m.path().string()});
    INFO(r.err);
    CHECK(r.status.exited_with(0));
    CHECK(r.out.find("password_file: " + pw) != std::string::npos);
    const std::string prefix = m.path().string() + ": warning: ";
    // Two services share the default probe key: one line for it.
    CHECK(r.err == prefix + "registry.etcd.tls.key_file " + open_key +
                       " is readable by every local user (mode 0644); it holds a secret: chmod "
                       "o-r it\n" +
                       prefix + "services[0].probe.tls.key_file " + probe_key +
                       " is readable by every local user (mode 0604); it holds a secret: chmod "
                       "o-r it\n");
    CHECK(secrets_in(r.out + r.err).empty());
  }
  SECTION("missing and unreadable files: one error each, exit 78, no configuration") {
    const ManifestFile m(manifest(missing, a_dir, own_key, (dir / "no-pw").string()));
    const CommandResult r = run_registrar({"check", "-c", m.path().string()});
    INFO(r.err);
    CHECK(r.status.exited_with(78));
    CHECK(r.out.empty());
    const std::string prefix = m.path().string() + ": ";
    CHECK(r.err == prefix + "warning: services[0].probe.tls.key_file " + probe_key +
                       " is readable by every local user (mode 0604); it holds a secret: chmod "
                       "o-r it\n" +
                       prefix + "registry.etcd.tls.ca_file: cannot read " + missing +
                       ": No such file or directory\n" + prefix +
                       "registry.etcd.tls.cert_file: " + a_dir + " is a directory, not a file\n" +
                       prefix + "registry.etcd.password_file: cannot read " +
                       (dir / "no-pw").string() + ": No such file or directory\n");
    CHECK(secrets_in(r.out + r.err).empty());
  }
  SECTION("Consul: a missing token file from CONSUL_HTTP_TOKEN_FILE is named by its variable") {
    const ManifestFile m("registry:\n  kind: consul\nservices: []\n");
    const CommandResult r =
        run_registrar({"check", "-c", m.path().string()}, {{"CONSUL_HTTP_TOKEN_FILE", missing}});
    CHECK(r.status.exited_with(78));
    CHECK(r.err == m.path().string() + ": CONSUL_HTTP_TOKEN_FILE: cannot read " + missing +
                       ": No such file or directory\n");
  }
}

TEST_CASE("secrets: --token on the command line works, with a warning, and is never echoed",
          "[security][secrets][cli]") {
  if (!have_consul_double()) return;
  ConsulDouble consul(with_acl());
  HelloService hello;
  const std::regex warning(
      "^grpc-registrar register: warning: --token: a secret on the command line can be read by "
      "every local user .*; it is used as \\$CONSUL_HTTP_TOKEN .*; prefer --token-file FILE");
  {
    // Accepted by the double, which refuses any other token: the flag works.
    auto d = start_registrar({"register", "--consul", consul.address(), "--token", kKnownToken,
                              "--name", "hello", "--id", "cli-1", "--address", "127.0.0.1",
                              "--port", std::to_string(hello.port()), "--status-listen",
                              "127.0.0.1:0", "--log-level", "debug"});
    DumpOnFailure dump(*d);
    const auto port = wait_for_status_port(*d);
    REQUIRE(port);
    REQUIRE(wait_for_check(consul, "grpc-registrar:cli-1", "passing", Clock::now()));
    CHECK(d->find_line(Stream::Stderr, warning));
    // The value is overwritten in argv: ps and /proc/PID/cmdline no longer show it.
    const std::string cmdline = read_text("/proc/" + std::to_string(d->pid()) + "/cmdline");
    CHECK(cmdline.find("--token") != std::string::npos);
    CHECK(secrets_in(cmdline).empty());
    CHECK(secrets_in(status_surfaces(*port)).empty());
    CHECK(stop(*d).exited_with(0));
    CHECK(wait_for_services(consul, {}));  // deregistered with the token on SIGTERM
    CHECK(secrets_in(d->stderr_text() + d->stdout_text()).empty());
  }

  // `deregister --consul-token=...` works too; a wrong token fails on the 403, not echoed.
  CommandResult r = run_registrar({"deregister", "--consul", consul.address(),
                                   std::string("--consul-token=") + kKnownPassword, "--id", "x"});
  INFO(r.err);
  CHECK(r.status.exited_with(69));
  CHECK(r.err.find("grpc-registrar deregister: warning: --consul-token: a secret on the command "
                   "line") != std::string::npos);
  CHECK(r.err.find("403") != std::string::npos);
  CHECK(secrets_in(r.out + r.err).empty());
  r = run_registrar({"deregister", "--consul", consul.address(),
                     std::string("--consul-token=") + kKnownToken, "--id", "x"});
  CHECK(r.status.exited_with(0));
  CHECK(r.out.find("was not registered") != std::string::npos);
  CHECK(secrets_in(r.out + r.err).empty());

  // `check --password`: as $ETCDCTL_PASSWORD, which the manifest's username needs.
  const ManifestFile etcd_manifest(
      "registry:\n  kind: etcd\n  etcd: {endpoints: [127.0.0.1:2379], username: u}\n"
      "services: []\n");
  r = run_registrar({"check", "-c", etcd_manifest.path().string(), "--password", kKnownPassword});
  CHECK(r.status.exited_with(0));
  CHECK(r.out.find("password from ETCDCTL_PASSWORD") != std::string::npos);
  CHECK(r.err.find("warning: --password: a secret on the command line") != std::string::npos);
  CHECK(secrets_in(r.out + r.err).empty());
}

TEST_CASE("secrets: other secret-looking flags and misuse are refused without echoing the value",
          "[security][secrets][cli]") {
  if (!have_binaries()) return;
  const std::string token = kKnownToken;
  const std::string password = kKnownPassword;
  struct Case {
    std::vector<std::string> args;
    int exit;
    std::string message;
  };
  const std::string refused = ": secrets are not accepted on the command line";
  for (const Case& c : std::vector<Case>{
           {{"run", "-c", "/nonexistent.yaml", "--client-secret=" + password},
            64,
            "--client-secret" + refused},
           {{"probe", "127.0.0.1:1", "--api-key", token}, 1, "--api-key" + refused},
           {{"probe", "127.0.0.1:1", "--token", token}, 1, "--token" + refused},
           {{"status", "--password=" + password}, 64, "--password" + refused},
           {{"register", "--consul", "--token", token, "--token-file", "/t", "--name", "a"},
            64,
            "--token and --token-file: give one of them"},
           {{"deregister", "--consul", "--token=" + token, "--consul-token", token},
            64,
            "--consul-token: given more than once"},
           {{"deregister", "--consul", "--id", "a", "--token"}, 64, "--token: needs a value"},
       }) {
    const CommandResult r = run_registrar(c.args);
    INFO(r.err);
    CHECK(r.status.exited_with(c.exit));
    CHECK(non_empty_lines(r.err).size() == 1);
    CHECK(r.err.find(": " + c.message) != std::string::npos);
    CHECK(secrets_in(r.out + r.err).empty());
  }
  // A password in a URL is refused, never repeated (the address parser would quote it).
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"register", "--consul", "http://u:" + password + "@127.0.0.1:1", "--name", "a",
            "--address", "127.0.0.1", "--port", "1"},
           {"deregister", "--etcd=http://root:" + password + "@127.0.0.1:2379", "--id", "a"}}) {
    const CommandResult r = run_registrar(args);
    INFO(r.err);
    CHECK(r.status.exited_with(64));
    CHECK(non_empty_lines(r.err).size() == 1);
    CHECK(r.err.find("a user name and password in the URL are not supported") != std::string::npos);
    CHECK(secrets_in(r.out + r.err).empty());
  }
}

TEST_CASE("secrets: scripts/scan-secrets names leaks by constant, fails on nothing scanned",
          "[security][secrets][scan]") {
  const std::string scan = (source_dir() / "scripts" / "scan-secrets").string();
  TempDir dir("scan-secrets");
  const auto empty = dir / "empty";
  std::filesystem::create_directories(empty);
  TempDir clean_files("scan-clean");
  const auto ok =
      clean_files.write_file("daemon.stderr", "registry: ACL token: CONSUL_HTTP_TOKEN\n");
  TempDir leaky_files("scan-leaky");
  leaky_files.write_file("a.stdout", "nothing here\n");
  const auto leak = leaky_files.write_file(
      "b.stderr", std::string("line one\nX-Consul-Token: ") + kKnownToken + " sent\n");

  CommandResult r = run_command(scan, {clean_files.path().string()});
  CHECK(r.status.exited_with(0));
  CHECK(r.out.find("1 files scanned") != std::string::npos);

  r = run_command(scan, {clean_files.path().string(), leaky_files.path().string()});
  INFO(r.err);
  CHECK(r.status.exited_with(1));
  CHECK(r.err.find("LEAK: kKnownToken found in " + leak.string()) != std::string::npos);
  CHECK(r.err.find(leak.string() + ":2: X-Consul-Token: <kKnownToken> sent") != std::string::npos);
  CHECK(r.err.find(ok.string()) == std::string::npos);
  CHECK(secrets_in(r.out + r.err).empty());

  // An empty or missing directory means the collection broke: 2, even next to a clean one.
  r = run_command(scan, {clean_files.path().string(), empty.string()});
  CHECK(r.status.exited_with(2));
  CHECK(r.err.find("holds no files") != std::string::npos);
  r = run_command(scan, {(dir / "missing").string()});
  CHECK(r.status.exited_with(2));
  r = run_command(scan, {});
  CHECK(r.status.exited_with(2));
}

TEST_CASE("secrets: every process's output is collected in $REGISTRAR_TEST_OUTPUT_DIR",
          "[security][secrets][scan]") {
  TempDir out("collect");
  const char* before = std::getenv("REGISTRAR_TEST_OUTPUT_DIR");
  const std::string saved = before ? before : "";
  ::setenv("REGISTRAR_TEST_OUTPUT_DIR", (out / "collected").c_str(), 1);
  std::filesystem::path linked;
  try {
    const CommandResult r = run_command("/bin/sh", {"-c", "echo to-stdout; echo to-stderr >&2"});
    CHECK(r.out == "to-stdout\n");
    {
      Process p("/bin/sh", {"-c", "echo still-running; exec sleep 30"}, {}, "long runner");
      REQUIRE(p.wait_for_line(Stream::Stdout, std::regex("still-running"), 10s));
      linked = p.output_path(Stream::Stdout);
    }  // killed: its private capture directory is gone, the collected copy stays
  } catch (...) {
    if (before)
      ::setenv("REGISTRAR_TEST_OUTPUT_DIR", saved.c_str(), 1);
    else
      ::unsetenv("REGISTRAR_TEST_OUTPUT_DIR");
    throw;
  }
  if (before)
    ::setenv("REGISTRAR_TEST_OUTPUT_DIR", saved.c_str(), 1);
  else
    ::unsetenv("REGISTRAR_TEST_OUTPUT_DIR");
  CHECK_FALSE(std::filesystem::exists(linked));

  std::map<std::string, std::string> files;  // name -> content
  for (const auto& e : std::filesystem::directory_iterator(out / "collected"))
    files[e.path().filename().string()] = read_text(e.path());
  REQUIRE(files.size() == 4);
  const std::regex name(
      R"(^[A-Za-z0-9._-]+\.([0-9]+)\.([0-9]{4})\.(sh--c|long_runner)\.(stdout|stderr)$)");
  std::set<std::string> counters;
  for (const auto& [file, content] : files) {
    std::smatch m;
    INFO(file);
    REQUIRE(std::regex_match(file, m, name));
    CHECK(m[1] == std::to_string(::getpid()));
    counters.insert(m[2]);
    const std::string expected = m[3] == "sh--c"
                                     ? (m[4] == "stdout" ? "to-stdout\n" : "to-stderr\n")
                                     : (m[4] == "stdout" ? "still-running\n" : "");
    CHECK(content == expected);
  }
  CHECK(counters.size() == 2);  // one per process
}
