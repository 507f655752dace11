// Issue 7, parts 1 and 2: the daemon against a locked-down etcd. TLS with client certificates
// (the files read when the channel is made and again after a failed connection), and etcd
// authentication with short-lived tokens (re-authentication, an etcd restart dropping every
// token, a wrong password). Certificates come from TestPki, the password from secrets.hpp.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "itest.hpp"
#include "support/certs.hpp"
#include "support/paths.hpp"
#include "support/secrets.hpp"
#include "support/temp_dir.hpp"

using namespace registrar::itest;

namespace {

const std::string kKey = "/services/hello/hello-1";

// Sets environment variables for this scope (etcdctl reads ETCDCTL_CACERT, ETCDCTL_CERT,
// ETCDCTL_KEY, ETCDCTL_USER), restoring the previous values after.
class ScopedEnv {
 public:
  ScopedEnv(std::vector<std::pair<std::string, std::string>> vars) {
    for (auto& [name, value] : vars) {
      const char* old = std::getenv(name.c_str());
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      ::setenv(name.c_str(), value.c_str(), 1);
    }
  }
  ~ScopedEnv() {
    for (auto& [name, old] : saved_) {
      if (old)
        ::setenv(name.c_str(), old->c_str(), 1);
      else
        ::unsetenv(name.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// Mutual TLS on `etcd` (before it starts): its server certificate from `pki`, and clients must
// present a certificate of `pki`'s CA.
void require_client_certs(EtcdServer& etcd, const TestPki& pki) {
  etcd.set_tls({pki.server().cert, pki.server().key, pki.ca(), pki.ca(), pki.client().cert,
                pki.client().key});
}

// etcdctl's environment for such an etcd: the CA and the client certificate and, `as_root`,
// etcd's root user (whose password is kKnownPassword too).
std::vector<std::pair<std::string, std::string>> etcdctl_mtls_env(const TestPki& pki,
                                                                  bool as_root = false) {
  std::vector<std::pair<std::string, std::string>> vars{
      {"ETCDCTL_CACERT", pki.ca().string()},
      {"ETCDCTL_CERT", pki.client().cert.string()},
      {"ETCDCTL_KEY", pki.client().key.string()}};
  if (as_root) {
    vars.emplace_back("ETCDCTL_USER", "root");
    vars.emplace_back("ETCDCTL_PASSWORD", kKnownPassword);
  }
  return vars;
}

// The manifest of `m` with `lines` added to registry.etcd.
std::string with_etcd_lines(const ManifestParams& m, const std::string& lines) {
  std::string y = manifest_yaml(m);
  const auto at = y.find("  backoff:");
  y.insert(at, lines);
  return y;
}

std::string tls_lines(const std::string& ca, const std::string& cert = "",
                      const std::string& key = "") {
  std::string y = "    tls:\n      ca_file: \"" + ca + "\"\n";
  if (!cert.empty()) y += "      cert_file: \"" + cert + "\"\n      key_file: \"" + key + "\"\n";
  return y;
}

std::size_t count_lines(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (const auto& line : non_empty_lines(text))
    if (line.find(part) != std::string::npos) ++n;
  return n;
}

void replace_file(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

ManifestParams params(const EtcdServer& etcd, const HelloService& hello) {
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.lease_ttl = "5s";
  m.dial_timeout = "1s";
  m.backoff_initial = "100ms";
  m.backoff_max = "500ms";
  m.services = {entry_for(hello, "hello-1")};
  return m;
}

}  // namespace

TEST_CASE(
    "etcd with TLS and client certificates: registers with mTLS, and a wrong CA, a missing "
    "client certificate or key file is one clear line and a retry, never a crash",
    "[security][etcd-tls]") {
  if (!have_binaries()) return;
  TestPki pki;
  EtcdServer etcd(/*start_now=*/false);
  require_client_certs(etcd, pki);
  etcd.start();
  // Every etcdctl below reaches etcd with the client certificate.
  ScopedEnv env(etcdctl_mtls_env(pki));
  const Etcdctl ctl = etcd.ctl();
  HelloService hello;
  const ManifestParams m = params(etcd, hello);
  TempDir files("registrar-etcd-tls");

  SECTION("mTLS: registered, read back through TLS, removed on SIGTERM") {
    Daemon daemon(with_etcd_lines(
        m, tls_lines(pki.ca().string(), pki.client().cert.string(), pki.client().key.string())));
    DumpOnFailure dump(daemon.process());
    auto keys = wait_for_keys(ctl, "/services/", {kKey});
    REQUIRE(keys);
    CHECK(nlohmann::json::parse(keys->front().value)["port"] == hello.port());
    CHECK(count_lines(daemon.log(), "etcd unreachable") == 0);
    CHECK(daemon.terminate().exited_with(0));
    CHECK(ctl.get_prefix("/services/").empty());
  }

  SECTION("a wrong CA: one line naming ca_file; fixing the file in place registers") {
    const auto ca_copy = files / "ca.pem";
    replace_file(pki.other_ca(), ca_copy);
    Daemon daemon(with_etcd_lines(
        m, tls_lines(ca_copy.string(), pki.client().cert.string(), pki.client().key.string())));
    DumpOnFailure dump(daemon.process());
    const auto line = daemon.wait_for_log(std::regex("check registry\\.etcd\\.tls\\.ca_file"));
    REQUIRE(line);
    INFO(line->line);
    CHECK(line->line.find("TLS handshake with " + etcd.endpoint() + " failed") !=
          std::string::npos);
    CHECK(line->line.find(ca_copy.string()) != std::string::npos);
    // Several more attempts (gRPC logs each failed handshake), still one line of ours.
    REQUIRE(wait_until([&] { return count_lines(daemon.log(), "Handshake failed") >= 3; }, 15s));
    CHECK(daemon.running());
    CHECK(ctl.get_prefix("/services/").empty());
    CHECK(count_lines(daemon.log(), "registry: etcd unreachable") == 1);

    replace_file(pki.ca(), ca_copy);  // the operator fixes the file: the next retry reads it
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(wait_for_keys(ctl, "/services/", {kKey}, 15s));
    record_ms("etcd TLS: CA file fixed in place, answering to registered",
              std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0).count());
    CHECK(daemon.terminate().exited_with(0));
  }

  SECTION("no client certificate while etcd requires one: one line naming cert_file") {
    Daemon daemon(with_etcd_lines(m, tls_lines(pki.ca().string())));
    DumpOnFailure dump(daemon.process());
    const auto line = daemon.wait_for_log(
        std::regex("registry: etcd unreachable.*set registry\\.etcd\\.tls\\.cert_file"));
    REQUIRE(line);
    // Several more attempts (gRPC logs etcd's alert for each), still one line of ours.
    REQUIRE(wait_until([&] { return count_lines(daemon.log(), "bad certificate") >= 3; }, 15s));
    CHECK(daemon.running());
    CHECK(ctl.get_prefix("/services/").empty());
    CHECK(count_lines(daemon.log(), "registry: etcd unreachable") == 1);
    CHECK(daemon.terminate().exited_with(0));
  }

  SECTION("no tls section while etcd serves TLS: one line suggesting registry.etcd.tls") {
    Daemon daemon(manifest_yaml(m));
    DumpOnFailure dump(daemon.process());
    const auto line = daemon.wait_for_log(std::regex("registry: etcd unreachable"));
    REQUIRE(line);
    INFO(line->line);
    CHECK(line->line.find("add a registry.etcd.tls section") != std::string::npos);
    CHECK(daemon.running());
    CHECK(ctl.get_prefix("/services/").empty());
    CHECK(daemon.terminate().exited_with(0));
  }

  SECTION("a key file that is not there yet: one line naming key_file, registers once it is") {
    const auto key = files / "client-key.pem";
    Daemon daemon(
        with_etcd_lines(m, tls_lines(pki.ca().string(), pki.client().cert.string(), key.string())));
    DumpOnFailure dump(daemon.process());
    const auto line =
        daemon.wait_for_log(std::regex("cannot read registry\\.etcd\\.tls\\.key_file"));
    REQUIRE(line);
    CHECK(line->line.find(key.string()) != std::string::npos);
    CHECK(daemon.running());
    replace_file(pki.client().key, key);
    ::chmod(key.c_str(), 0600);
    CHECK(wait_for_keys(ctl, "/services/", {kKey}, 15s));
    CHECK(count_lines(daemon.log(), "registry: etcd unreachable") == 1);
    CHECK(daemon.terminate().exited_with(0));
  }
}

namespace {

// The daemon's ownership record (registry.etcd.owner is set in the manifest, so its key is known
// before the daemon starts).
const std::string kOwner = "itest-auth";

// etcd with authentication on: root, and a user "registrar" whose role may read and write
// exactly the keys the daemon writes (the service prefix and its own ownership record) and
// nothing else. Both passwords are kKnownPassword, so that a leak of either is found by the scan.
EtcdServerAuth least_privilege() {
  EtcdServerAuth auth;
  auth.root_password = kKnownPassword;
  auth.user = "registrar";
  auth.password = kKnownPassword;
  auth.readwrite_prefixes = {"/services/"};
  auth.readwrite_keys = {"/grpc-registrar/owners/" + kOwner};
  return auth;
}

std::filesystem::path write_secret(const TempDir& dir, const std::string& name,
                                   const std::string& text) {
  const auto path = dir.write_file(name, text);
  ::chmod(path.c_str(), 0600);
  return path;
}

std::string auth_lines(const std::filesystem::path& password_file) {
  return "    owner: \"" + kOwner + "\"\n    username: \"registrar\"\n    password_file: \"" +
         password_file.string() + "\"\n";
}

}  // namespace

TEST_CASE(
    "etcd with authentication and 1 s tokens: registered, kept past many token lifetimes "
    "and an etcd restart, removed on SIGTERM, and a wrong password is one clear line",
    "[security][etcd-auth]") {
  if (!have_binaries()) return;
  EtcdServer etcd(/*start_now=*/false);
  etcd.set_auth_token_ttl(1);
  etcd.start();
  etcd.enable_auth(least_privilege());
  ScopedEnv env({{"ETCDCTL_USER", std::string("root:") + kKnownPassword}});
  const Etcdctl ctl = etcd.ctl();
  HelloService hello;
  ManifestParams m = params(etcd, hello);
  m.resync_interval = "2s";  // a Range every 2 s, each after the 1 s token has expired
  TempDir files("registrar-etcd-auth");
  const std::string authenticated = "registry: authenticated to etcd as user \"registrar\"";

  SECTION("the right password: re-authenticates as tokens expire and after an etcd restart") {
    const auto pw = write_secret(files, "password", std::string(kKnownPassword) + "\n");
    Daemon daemon(with_etcd_lines(m, auth_lines(pw)));
    DumpOnFailure dump(daemon.process());
    const auto keys = wait_for_keys(ctl, "/services/", {kKey});
    REQUIRE(keys);
    const std::int64_t lease = keys->front().lease;
    const auto registered_at = std::chrono::steady_clock::now();
    CHECK(count_lines(daemon.log(), "authenticates without TLS") == 1);

    // Tokens live 1 s; every resync finds its token expired and gets a new one.
    REQUIRE(wait_until([&] { return count_lines(daemon.log(), authenticated) >= 4; }, 20s));
    const auto still = ctl.get(kKey);
    REQUIRE(still);
    CHECK(still->lease == lease);         // the same lease all along: never lost
    CHECK(ctl.lease_ttl(lease).ttl > 0);  // and still kept alive
    record_ms("etcd auth: same lease kept across 1 s tokens for",
              std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - registered_at)
                  .count());
    CHECK(count_lines(daemon.log(), "etcd rejected the token") >= 3);

    // A restart drops every simple token; the lease and key survive in etcd.
    const std::size_t before = count_lines(daemon.log(), authenticated);
    etcd.restart();
    REQUIRE(wait_until([&] { return count_lines(daemon.log(), authenticated) > before; }, 20s));
    REQUIRE(wait_for_keys(ctl, "/services/", {kKey}));

    CHECK(daemon.terminate().exited_with(0));
    CHECK(ctl.get_prefix("/services/").empty());  // the revoke went through with a token
    CHECK(daemon.log().find(kKnownPassword) == std::string::npos);
    CHECK(count_lines(daemon.log(), "etcd authentication as user") == 0);
  }

  SECTION("a role without this daemon's ownership record: one line naming the key it needs") {
    const auto pw = write_secret(files, "password", std::string(kKnownPassword) + "\n");
    std::string lines = auth_lines(pw);
    lines.replace(lines.find(kOwner), kOwner.size(), "itest-other");
    Daemon daemon(with_etcd_lines(m, lines));
    DumpOnFailure dump(daemon.process());
    const auto line = daemon.wait_for_log(std::regex("etcd user \"registrar\" lacks permission"));
    REQUIRE(line);
    INFO(line->line);
    CHECK(line->line.find("permission denied") != std::string::npos);
    CHECK(line->line.find("\"/grpc-registrar/owners/itest-other\"") != std::string::npos);
    CHECK(daemon.running());
    CHECK(ctl.get_prefix("/").empty());  // the entry and the record go in one transaction
    CHECK(daemon.terminate().exited_with(0));
    // Warned once, not per retry (the start-up line also quotes it, as its not-ready reason).
    CHECK(count_lines(daemon.log(), "etcd refused a request (ownership record read") == 1);
  }

  SECTION("a wrong password: one error line naming user and source, never the password") {
    const std::string wrong = std::string(kKnownPassword) + "-wrong";
    const auto pw = write_secret(files, "password", wrong + "\n");
    Daemon daemon(with_etcd_lines(m, auth_lines(pw)));
    DumpOnFailure dump(daemon.process());
    const auto line =
        daemon.wait_for_log(std::regex("etcd authentication as user \"registrar\" failed"));
    REQUIRE(line);
    INFO(line->line);
    CHECK(line->line.find("registry.etcd.password_file (" + pw.string() + ")") !=
          std::string::npos);
    // Retried with backoff: etcd logs each refused attempt; the daemon still has one line.
    const auto refused = [&] {
      return count_lines(etcd.process()->stderr_text(), "invalid authentication was requested");
    };
    REQUIRE(wait_until([&] { return refused() >= 3; }, 15s));
    CHECK(daemon.running());
    CHECK(count_lines(daemon.log(), "etcd authentication as user \"registrar\" failed") == 1);
    CHECK(ctl.get_prefix("/services/").empty());

    write_secret(files, "password", std::string(kKnownPassword) + "\n");  // re-read next time
    CHECK(wait_for_keys(ctl, "/services/", {kKey}, 15s));
    CHECK(daemon.log().find("works again") != std::string::npos);
    CHECK(daemon.terminate().exited_with(0));
    CHECK(daemon.log().find(kKnownPassword) == std::string::npos);
  }
}

TEST_CASE(
    "etcd with client certificates and authentication together: the password from "
    "$ETCDCTL_PASSWORD, tokens over TLS, registered and removed on SIGTERM",
    "[security][etcd-tls][etcd-auth]") {
  if (!have_binaries()) return;
  TestPki pki;
  EtcdServer etcd(/*start_now=*/false);
  require_client_certs(etcd, pki);
  etcd.set_auth_token_ttl(1);
  etcd.start();
  etcd.enable_auth(least_privilege());
  // etcdctl as root over mTLS (root's password is kKnownPassword too); the daemon inherits
  // ETCDCTL_PASSWORD, its only password source here: the manifest has a username and no
  // password_file. (With ETCDCTL_PASSWORD set, etcdctl takes ETCDCTL_USER as the name alone.)
  ScopedEnv env(etcdctl_mtls_env(pki, /*as_root=*/true));
  const Etcdctl ctl = etcd.ctl();
  HelloService hello;
  ManifestParams m = params(etcd, hello);
  m.resync_interval = "2s";
  Daemon daemon(with_etcd_lines(
      m, tls_lines(pki.ca().string(), pki.client().cert.string(), pki.client().key.string()) +
             "    owner: \"" + kOwner + "\"\n    username: \"registrar\"\n"));
  DumpOnFailure dump(daemon.process());
  const auto keys = wait_for_keys(ctl, "/services/", {kKey});
  REQUIRE(keys);
  CHECK(nlohmann::json::parse(keys->front().value)["port"] == hello.port());
  const auto owner = ctl.get("/grpc-registrar/owners/" + kOwner);
  REQUIRE(owner);
  CHECK(owner->lease == keys->front().lease);
  const auto line =
      daemon.wait_for_log(std::regex("authenticated to etcd as user \"registrar\" \\(password "
                                     "from ETCDCTL_PASSWORD\\)"));
  CHECK(line);
  CHECK(count_lines(daemon.log(), "authenticates without TLS") == 0);
  CHECK(count_lines(daemon.log(), "etcd unreachable") == 0);
  CHECK(daemon.terminate().exited_with(0));
  CHECK(ctl.get_prefix("/services/").empty());
  CHECK(daemon.log().find(kKnownPassword) == std::string::npos);
}

TEST_CASE(
    "deregister with --etcd-* flags: over mTLS as an etcd user it deletes the key, a missing "
    "file or a wrong password is refused naming the flag, and never shows the password",
    "[security][etcd-tls][etcd-auth]") {
  if (!have_binaries()) return;
  TestPki pki;
  EtcdServer etcd(/*start_now=*/false);
  require_client_certs(etcd, pki);
  etcd.start();
  etcd.enable_auth(least_privilege());
  ScopedEnv env(etcdctl_mtls_env(pki, /*as_root=*/true));
  const Etcdctl ctl = etcd.ctl();
  ctl.put(kKey, "{}");
  TempDir files("registrar-deregister-etcd");
  const auto good = write_secret(files, "password", std::string(kKnownPassword) + "\n");
  const auto wrong = write_secret(files, "wrong", "not-the-password\n");
  const auto missing = (files / "missing.pem").string();
  // ETCDCTL_PASSWORD is in the environment too: the file given comes first.
  auto deregister = [&](const std::string& ca, const std::filesystem::path& password) {
    return run_registrar({"deregister", "--etcd", etcd.endpoint(), "--name", "hello", "--id",
                          "hello-1", "--etcd-ca-file", ca, "--etcd-cert-file",
                          pki.client().cert.string(), "--etcd-key-file", pki.client().key.string(),
                          "--etcd-user", "registrar", "--etcd-password-file", password.string(),
                          "--timeout", "5s"});
  };

  auto r = deregister(missing, good);
  INFO(r.err);
  CHECK(r.status.exited_with(78));
  CHECK(r.err.find("cannot read --etcd-ca-file: " + missing + ": No such file or directory") !=
        std::string::npos);

  r = deregister(pki.ca().string(), missing);
  INFO(r.err);
  CHECK(r.status.exited_with(78));
  CHECK(r.err.find("cannot read --etcd-password-file: " + missing) != std::string::npos);

  r = deregister(pki.ca().string(), wrong);
  INFO(r.err);
  CHECK(r.status.exited_with(78));
  CHECK(r.err.find("etcd authentication as user \"registrar\" failed") != std::string::npos);
  CHECK(r.err.find("hello-1 not deleted") != std::string::npos);
  CHECK(r.err.find("not-the-password") == std::string::npos);
  CHECK(ctl.get(kKey));  // still there

  r = deregister(pki.ca().string(), good);
  INFO(r.err);
  CHECK(r.status.exited_with(0));
  CHECK(r.out == "deleted " + kKey + "\n");
  CHECK_FALSE(ctl.get(kKey));
  CHECK(r.err.find(kKnownPassword) == std::string::npos);
  CHECK(r.out.find(kKnownPassword) == std::string::npos);
}

// Issue 19: `register` reaches a locked-down etcd with the flags `deregister` takes (one
// declaration, cli/registry_options.hpp): mTLS with --etcd-ca-file/--etcd-cert-file/
// --etcd-key-file, authentication with --etcd-user and --etcd-password-file. Before, they were
// "not expected" and `register --password` pointed at a manifest key it could not take.
TEST_CASE("register with --etcd-* flags: over mTLS as an etcd user it registers, SIGTERM deletes",
          "[security][etcd-tls][etcd-auth][cli]") {
  if (!have_binaries()) return;
  TestPki pki;
  EtcdServer etcd(/*start_now=*/false);
  require_client_certs(etcd, pki);
  etcd.start();
  EtcdServerAuth auth = least_privilege();
  auth.readwrite_prefixes = {"/services/", "/grpc-registrar/owners/"};  // register's own record
  etcd.enable_auth(auth);
  ScopedEnv env(etcdctl_mtls_env(pki, /*as_root=*/true));
  const Etcdctl ctl = etcd.ctl();
  HelloService hello;
  TempDir files("registrar-register-etcd");
  const auto password = write_secret(files, "password", std::string(kKnownPassword) + "\n");
  Process reg(*registrar::test::registrar_bin(),
              {"register",
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
               "--etcd-ca-file",
               pki.ca().string(),
               "--etcd-cert-file",
               pki.client().cert.string(),
               "--etcd-key-file",
               pki.client().key.string(),
               "--etcd-user",
               "registrar",
               "--etcd-password-file",
               password.string()},
              {}, "register-etcd-secure");
  DumpOnFailure dump(reg);
  REQUIRE(wait_until([&] { return ctl.get(kKey).has_value(); }, 15s));
  reg.signal(SIGTERM);
  const auto st = reg.wait_exit(10s);
  REQUIRE(st);
  CHECK(st->exited_with(0));
  CHECK_FALSE(ctl.get(kKey));
  CHECK(reg.stderr_text().find(kKnownPassword) == std::string::npos);

  // A flag of another backend is refused by name, before anything is registered.
  const CommandResult bad =
      run_registrar({"register", "--consul", "--name", "hello", "--address", "127.0.0.1", "--port",
                     "1", "--etcd-ca-file", pki.ca().string()});
  CHECK(bad.status.exited_with(64));
  CHECK(bad.err == "grpc-registrar register: --etcd-ca-file: only with --etcd\n");
}
