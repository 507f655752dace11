// Issue 7, probe TLS: the daemon (etcd backend, real etcd) probes hello-service serving TLS and
// mTLS with certificates made by TestPki, registers what it can reach with the right probe.tls,
// follows health flips over TLS, and keeps out (with the reason in its log and /v1/services) the
// services whose probe.tls is wrong. `grpc-registrar probe` with the --tls flags.
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "itest.hpp"
#include "support/certs.hpp"
#include "support/http_client.hpp"

using namespace registrar::itest;

namespace {

using Clock = std::chrono::steady_clock;

std::string quote(const std::string& s) {
  return nlohmann::json(s).dump();
}

struct ProbeTls {
  std::string ca, cert, key, server_name;
};

struct SecureEntry {
  std::string id;
  std::uint16_t port = 0;
  std::optional<ProbeTls> tls;  // nullopt: no tls section (plaintext)
};

std::string manifest(const EtcdServer& etcd, const std::vector<SecureEntry>& services) {
  std::string y;
  y += "registry:\n  kind: etcd\n  etcd:\n    endpoints: [" + quote(etcd.endpoint()) + "]\n";
  y += "    lease_ttl: 5s\n    dial_timeout: 1s\n";
  y += "  backoff: {initial: 100ms, max: 1s}\n";
  // A timeout well above a TLS handshake between two sanitizer builds on a loaded machine: a
  // first connection that timed out would be logged before the TLS reason (1 s did, once).
  y += "defaults:\n  probe: {mode: watch, interval: 200ms, timeout: 3s, rise: 1, fall: 1}\n";
  y += "services:\n";
  for (const auto& s : services) {
    y += "  - name: hello\n    id: " + quote(s.id) + "\n    address: \"127.0.0.1\"\n";
    y += "    port: " + std::to_string(s.port) + "\n";
    if (!s.tls) continue;
    y += "    probe:\n      tls:\n        ca_file: " + quote(s.tls->ca) + "\n";
    if (!s.tls->cert.empty()) {
      y += "        cert_file: " + quote(s.tls->cert) + "\n";
      y += "        key_file: " + quote(s.tls->key) + "\n";
    }
    if (!s.tls->server_name.empty())
      y += "        server_name: " + quote(s.tls->server_name) + "\n";
  }
  y += "status:\n  listen: \"127.0.0.1:0\"\n";
  y += "drain: 0s\n";
  return y;
}

HelloServiceOptions tls_hello(const TestPki& pki, bool mtls) {
  HelloServiceOptions o;
  o.tls_cert = pki.server().cert.string();
  o.tls_key = pki.server().key.string();
  o.control_ca = pki.ca().string();
  if (mtls) {
    o.tls_client_ca = pki.ca().string();
    o.control_cert = pki.client().cert.string();
    o.control_key = pki.client().key.string();
  }
  return o;
}

// The detail of each service in /v1/services, by id.
std::map<std::string, std::string> details(std::uint16_t status_port) {
  HttpClient http("127.0.0.1", status_port, 5s);
  const auto body = nlohmann::json::parse(http.get("/v1/services").body);
  std::map<std::string, std::string> out;
  for (const auto& s : body.at("services")) {
    out[s.at("id").get<std::string>()] = s.at("probe").at("detail").get<std::string>();
  }
  return out;
}

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

// Whether one line of `log` holds both `a` and `b`.
bool log_has_line(const std::string& log, const std::string& a, const std::string& b) {
  for (const std::string& line : non_empty_lines(log)) {
    if (contains(line, a) && contains(line, b)) return true;
  }
  return false;
}

// Lines of `log` above debug level that contain `what`. (The daemon runs at debug level in the
// tests; its debug lines repeat probe results. gRPC's own stderr lines have another format.)
int count_lines(const std::string& log, const std::string& what) {
  int n = 0;
  for (const std::string& line : non_empty_lines(log)) {
    if (!contains(line, " debug ") && contains(line, what)) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE(
    "security probe: TLS and mTLS services are registered and follow flips, a wrong CA "
    "or a missing client certificate keeps a service out, with the reason",
    "[security][tls]") {
  if (!have_binaries()) return;
  const TestPki pki;
  EtcdServer etcd;
  HelloService tls(tls_hello(pki, /*mtls=*/false));
  HelloService mtls(tls_hello(pki, /*mtls=*/true));
  const std::string ca = pki.ca().string();
  const ProbeTls client{ca, pki.client().cert.string(), pki.client().key.string(), ""};
  // Four services on the TLS server's port with different settings: they must not share channels.
  const std::vector<SecureEntry> services = {
      {"tls-ok", tls.port(), ProbeTls{ca, "", "", ""}},
      {"tls-named", tls.port(), ProbeTls{ca, "", "", "localhost"}},
      {"tls-wrong-ca", tls.port(), ProbeTls{pki.other_ca().string(), "", "", ""}},
      {"tls-plaintext", tls.port(), std::nullopt},
      {"mtls-ok", mtls.port(), client},
      {"mtls-no-cert", mtls.port(), ProbeTls{ca, "", "", ""}},
      {"mtls-foreign-cert", mtls.port(),
       ProbeTls{ca, pki.foreign_client().cert.string(), pki.foreign_client().key.string(), ""}},
  };
  Daemon daemon(manifest(etcd, services));
  DumpOnFailure dump(daemon.process());
  const auto status_line =
      daemon.wait_for_log(std::regex(R"(status: listening on [0-9.]+:([0-9]+))"));
  REQUIRE(status_line);
  const auto status_port = static_cast<std::uint16_t>(std::stoul(status_line->groups.at(1)));

  const Etcdctl ctl = etcd.ctl();
  const std::vector<std::string> good = {"/services/hello/mtls-ok", "/services/hello/tls-named",
                                         "/services/hello/tls-ok"};
  REQUIRE(wait_for_keys(ctl, "/services/", good));

  // The others failed with a reason that names the setting to fix; each is logged.
  const std::map<std::string, std::string> reasons = {
      {"tls-wrong-ca", "the server's certificate is not trusted (check probe.tls.ca_file " +
                           pki.other_ca().string() + ")"},
      {"tls-plaintext", "if it serves TLS, set probe.tls"},
      {"mtls-no-cert",
       "it may require a client certificate (set probe.tls.cert_file and "
       "probe.tls.key_file)"},
      {"mtls-foreign-cert", "it may not accept the client certificate (check probe.tls.cert_file " +
                                pki.foreign_client().cert.string()},
  };
  for (const auto& [id, reason] : reasons) {
    INFO(id << ": " << reason);
    CHECK(wait_until([&] { return log_has_line(daemon.log(), "probe " + id + " (", reason); }, 10s,
                     50ms));
  }
  std::map<std::string, std::string> seen;
  CHECK(wait_until(
      [&] {
        seen = details(status_port);
        for (const auto& [id, reason] : reasons)
          if (!contains(seen[id], reason)) return false;
        return true;
      },
      10s, 100ms));
  for (const auto& [id, detail] : seen) {
    INFO(id << ": " << detail);
    CHECK_FALSE(contains(detail, "PRIVATE KEY"));
    if (reasons.contains(id)) CHECK(contains(detail, reasons.at(id)));
  }
  // Still only the three that can be reached.
  const auto keys = try_get_prefix(ctl, "/services/");
  REQUIRE(keys);
  std::vector<std::string> names;
  for (const auto& kv : *keys) names.push_back(kv.key);
  CHECK(names == good);

  // Health flips over TLS: by signal on the TLS server, by the mTLS control client on the other.
  auto t0 = Clock::now();
  tls.set_serving(false);
  CHECK(wait_for_key_state(ctl, "/services/hello/tls-ok", false, t0));
  CHECK(wait_for_key_state(ctl, "/services/hello/tls-named", false, t0));
  tls.set_serving(true);
  CHECK(wait_for_key_state(ctl, "/services/hello/tls-ok", true, t0));
  t0 = Clock::now();
  mtls.set_status("", false);
  const auto gone = wait_for_key_state(ctl, "/services/hello/mtls-ok", false, t0);
  record_ms("mTLS: set-status NOT_SERVING to key gone (etcdctl poll)", count_ms(gone));
  CHECK(gone);
  t0 = Clock::now();
  mtls.set_status("", true);
  const auto back = wait_for_key_state(ctl, "/services/hello/mtls-ok", true, t0);
  record_ms("mTLS: set-status SERVING to key back (etcdctl poll)", count_ms(back));
  CHECK(back);
  CHECK(daemon.running());
  const std::string log = daemon.log();
  CHECK_FALSE(contains(log, "PRIVATE KEY"));
  // After several retries, still one line per misconfigured service, and one only: the TLS
  // problem is a state, logged when it starts (not per retry, nor twice for a Watch stream).
  for (const auto& [id, reason] : reasons) {
    INFO(id << ": " << reason << "\n" << log);
    CHECK(count_lines(log, "probe " + id + " (") == 1);
    CHECK(count_lines(log, reason) == 1);
  }
}

TEST_CASE("security probe: grpc-registrar probe with the --tls flags", "[security][tls][cli]") {
  if (!have_binaries()) return;
  const TestPki pki;
  HelloService tls(tls_hello(pki, /*mtls=*/false));
  HelloService mtls(tls_hello(pki, /*mtls=*/true));
  const std::string ca = pki.ca().string();
  const std::vector<std::string> client = {"--tls-client-cert", pki.client().cert.string(),
                                           "--tls-client-key", pki.client().key.string()};
  auto probe = [](const std::string& target, std::vector<std::string> flags) {
    std::vector<std::string> args{"probe", target, "--connect-timeout", "3s"};
    args.insert(args.end(), flags.begin(), flags.end());
    return run_registrar(args);
  };
  auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  struct Row {
    std::string what;
    std::string target;
    std::vector<std::string> flags;
    int exit;
    std::string says;  // in stdout + stderr
  };
  const std::vector<Row> rows = {
      {"TLS with the CA", tls.target(), {"--tls", "--tls-ca-cert", ca}, 0, "status: SERVING"},
      {"TLS with a server name",
       tls.target(),
       {"--tls", "--tls-ca-cert", ca, "--tls-server-name", "localhost"},
       0,
       "status: SERVING"},
      {"TLS with another server name",
       tls.target(),
       {"--tls", "--tls-ca-cert", ca, "--tls-server-name", "wrong.example"},
       2,
       "check --tls-server-name"},
      {"TLS with the wrong CA",
       tls.target(),
       {"--tls", "--tls-ca-cert", pki.other_ca().string()},
       2,
       "not trusted (check --tls-ca-cert"},
      {"plaintext to a TLS server", tls.target(), {}, 2, "if it serves TLS, set --tls"},
      {"mTLS with the client certificate", mtls.target(),
       with({"--tls", "--tls-ca-cert", ca}, client), 0, "status: SERVING"},
      {"mTLS without a client certificate",
       mtls.target(),
       {"--tls", "--tls-ca-cert", ca},
       2,
       "may require a client certificate (set --tls-client-cert and --tls-client-key)"},
      {"--tls-ca-cert without --tls",
       tls.target(),
       {"--tls-ca-cert", ca},
       1,
       "--tls-ca-cert needs --tls"},
      {"a client certificate without its key",
       mtls.target(),
       {"--tls", "--tls-ca-cert", ca, "--tls-client-cert", pki.client().cert.string()},
       1,
       "go together"},
      {"a missing CA file",
       tls.target(),
       {"--tls", "--tls-ca-cert", (pki.dir() / "missing.pem").string()},
       1,
       "cannot read --tls-ca-cert"},
  };
  for (const Row& row : rows) {
    const auto r = probe(row.target, row.flags);
    INFO(row.what << ": exit " << r.status.describe() << "; out: " << r.out << "; err: " << r.err);
    CHECK(r.status.exited_with(row.exit));
    CHECK(contains(r.out + r.err, row.says));
    CHECK_FALSE(contains(r.out + r.err, "PRIVATE KEY"));
  }
}
