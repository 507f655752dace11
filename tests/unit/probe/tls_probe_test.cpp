// Probing over TLS and mTLS: channel keys and credentials (probe_channel, tls_credentials), the
// explanation of handshake failures (tls_failure), and the prober against an in-process health
// server that serves TLS, with certificates made by TestPki at test time.
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "probe/grpc_health_prober.hpp"
#include "probe/probe_channel.hpp"
#include "probe/tls_credentials.hpp"
#include "probe/tls_failure.hpp"
#include "runtime/clock.hpp"
#include "support/certs.hpp"
#include "support/temp_dir.hpp"
#include "unit/probe/health_server_fixture.hpp"
#include "unit/probe/prober_harness.hpp"

using namespace std::chrono_literals;
using registrar::config::ProbeMode;
using registrar::config::ServiceSpec;
using registrar::config::TlsSpec;
using registrar::probe::Outcome;
using registrar::probe::Prober;
using registrar::probe::Result;
using registrar::test::HealthServerFixture;
using registrar::test::kDeadline;
using registrar::test::run_until;
using registrar::test::TempDir;
using registrar::test::TestPki;
using HealthCheckResponse = grpc::health::v1::HealthCheckResponse;
using SteadyClock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;
namespace fs = std::filesystem;

namespace {

// One PKI for the whole binary: openssl runs about a dozen times to make it.
const TestPki& pki() {
  static const TestPki instance;
  return instance;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Writes through a new file renamed over `to`, as certificate rotation tools do.
void replace_file(const fs::path& to, const std::string& text) {
  const fs::path tmp = to.string() + ".new";
  std::ofstream(tmp, std::ios::binary | std::ios::trunc) << text;
  fs::rename(tmp, to);
}

TlsSpec tls_with(const fs::path& ca, const registrar::test::CertPair* client = nullptr) {
  TlsSpec tls;
  tls.enabled = true;
  tls.ca_file = ca.string();
  if (client) {
    tls.cert_file = client->cert.string();
    tls.key_file = client->key.string();
  }
  return tls;
}

std::shared_ptr<grpc::ServerCredentials> server_tls(bool require_client_cert) {
  grpc::SslServerCredentialsOptions options(
      require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back(
      {read_text(pki().server().key), read_text(pki().server().cert)});
  if (require_client_cert) options.pem_root_certs = read_text(pki().ca());
  return grpc::SslServerCredentials(options);
}

HealthServerFixture::Options tls_server_options(bool require_client_cert) {
  HealthServerFixture::Options o;
  o.credentials = server_tls(require_client_cert);
  return o;
}

ServiceSpec tls_spec(const std::string& target, ProbeMode mode, const TlsSpec& tls) {
  ServiceSpec spec;
  spec.name = "svc";
  spec.address = "127.0.0.1";
  spec.probe.mode = mode;
  spec.probe.interval = 100ms;
  spec.probe.timeout = 2s;
  spec.probe.target = target;
  spec.probe.tls = tls;
  return spec;
}

struct TlsHarness {
  registrar::runtime::SteadyClock clock;
  boost::asio::io_context io;
  std::vector<Result> results;
  std::unique_ptr<Prober> prober;

  void start(const ServiceSpec& spec) {
    prober = registrar::probe::make_grpc_health_prober(io.get_executor(), spec, clock);
    prober->start([this](const Result& r) { results.push_back(r); });
  }
  ~TlsHarness() {
    if (prober) prober->stop();
    prober.reset();
    const auto deadline = SteadyClock::now() + kDeadline;
    io.restart();
    while (!io.stopped() && SteadyClock::now() < deadline) io.run_for(100ms);
  }
  // The first result from index `from` on with outcome `o`.
  std::optional<Result> wait_for(Outcome o, std::size_t from = 0) {
    std::optional<Result> found;
    run_until(io, [&] {
      for (std::size_t i = from; i < results.size(); ++i) {
        if (results[i].outcome == o) {
          found = results[i];
          return true;
        }
      }
      return false;
    });
    return found;
  }
  std::string dump() const {
    std::string s;
    for (const Result& r : results)
      s += std::string(to_string(r.outcome)) + " [" + r.detail + "]\n";
    return s;
  }
};

// Captures what spdlog's default logger writes while it lives, one "level: message" per line.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%l: %v");
    auto logger = std::make_shared<spdlog::logger>("tls-probe-test", sink);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  // Lines that start with `level` (e.g. "warning") and contain `what`.
  int count(const std::string& level, const std::string& what) {
    spdlog::default_logger()->flush();
    std::istringstream lines(out_.str());
    int n = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(level + ":", 0) == 0 && line.find(what) != std::string::npos) ++n;
    }
    return n;
  }
  std::string text() { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

// No result may quote any line of a key file.
void check_no_key_material(const std::string& text) {
  for (const fs::path& key : {pki().client().key, pki().server().key}) {
    std::istringstream lines(read_text(key));
    for (std::string line; std::getline(lines, line);) {
      if (line.size() < 16 || line.rfind("-----", 0) == 0) continue;  // base64 body lines only
      CHECK(text.find(line) == std::string::npos);
    }
  }
  CHECK(text.find("PRIVATE KEY") == std::string::npos);
}

}  // namespace

TEST_CASE("probe channel keys: every TLS setting is part of the key", "[tls]") {
  using registrar::probe::probe_channel_key;
  const TlsSpec plain;
  TlsSpec tls = tls_with("/etc/ca.pem");
  CHECK(probe_channel_key("h:1", 1s, plain, "") == probe_channel_key("h:1", 1s, plain, ""));
  CHECK(probe_channel_key("h:1", 1s, tls, "s") == probe_channel_key("h:1", 1s, tls, "s"));
  const std::string base = probe_channel_key("h:1", 1s, tls, "s");
  CHECK(probe_channel_key("h:1", 1s, plain, "") != base);
  CHECK(probe_channel_key("h:1", 1s, tls, "other stamp") != base);
  TlsSpec other = tls;
  other.ca_file = "/etc/other.pem";
  CHECK(probe_channel_key("h:1", 1s, other, "s") != base);
  other = tls;
  other.cert_file = "/c.pem";
  other.key_file = "/k.pem";
  CHECK(probe_channel_key("h:1", 1s, other, "s") != base);
  other = tls;
  other.server_name = "svc.internal";
  CHECK(probe_channel_key("h:1", 1s, other, "s") != base);
  other = tls;
  other.ca_file = "";  // system roots
  CHECK(probe_channel_key("h:1", 1s, other, "s") != base);
}

TEST_CASE("probe channels: one target with different TLS settings gets different channels",
          "[tls]") {
  using registrar::probe::acquire_probe_channel;
  const std::string target = "127.0.0.1:1";  // nothing connects: channels are lazy
  std::string error;
  const TlsSpec plain;
  const TlsSpec tls = tls_with(pki().ca());
  const TlsSpec mtls = tls_with(pki().ca(), &pki().client());
  auto a = acquire_probe_channel(target, 1s, plain, error);
  auto b = acquire_probe_channel(target, 1s, tls, error);
  auto c = acquire_probe_channel(target, 1s, mtls, error);
  auto d = acquire_probe_channel(target, 1s, tls, error);  // same settings as b: shared
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  REQUIRE(d);
  CHECK(error.empty());
  CHECK(a->channel.get() != b->channel.get());
  CHECK(b->channel.get() != c->channel.get());
  CHECK(a->channel.get() != c->channel.get());
  CHECK(b->channel.get() == d->channel.get());
  CHECK(registrar::probe::probe_channel_pool().users(b->key) == std::vector<std::size_t>{2});
  CHECK_FALSE(registrar::probe::probe_channel_stale(*b, tls));
  CHECK_FALSE(registrar::probe::probe_channel_stale(*a, plain));
}

TEST_CASE("probe channels: rewritten TLS files make the channel stale and the next one new",
          "[tls]") {
  using registrar::probe::acquire_probe_channel;
  TempDir dir("probe-tls");
  const fs::path ca = dir.write_file("ca.pem", read_text(pki().other_ca()));
  const TlsSpec tls = tls_with(ca);
  std::string error;
  auto first = acquire_probe_channel("127.0.0.1:1", 1s, tls, error);
  REQUIRE(first);
  replace_file(ca, read_text(pki().ca()));
  CHECK(registrar::probe::probe_channel_stale(*first, tls));
  auto second = acquire_probe_channel("127.0.0.1:1", 1s, tls, error);
  REQUIRE(second);
  CHECK(second->channel.get() != first->channel.get());
  CHECK_FALSE(registrar::probe::probe_channel_stale(*second, tls));
}

TEST_CASE("TLS credentials: unusable files are clear errors naming the setting and the path",
          "[tls]") {
  using registrar::probe::make_channel_credentials;
  TempDir dir("probe-tls");
  const fs::path garbage = dir.write_file("garbage.pem", "not a certificate\n");
  const fs::path missing = dir / "missing.pem";
  const std::string key_text = read_text(pki().client().key);
  const fs::path encrypted = dir / "encrypted-key.pem";
  registrar::test::run_openssl({"pkey", "-in", pki().client().key.string(), "-aes256", "-passout",
                                "pass:test-only", "-out", encrypted.string()});

  struct Row {
    TlsSpec tls;
    std::vector<std::string> words;
  };
  TlsSpec missing_ca = tls_with(missing);
  TlsSpec garbage_ca = tls_with(garbage);
  TlsSpec missing_key = tls_with(pki().ca(), &pki().client());
  missing_key.key_file = missing.string();
  TlsSpec wrong_key = tls_with(pki().ca(), &pki().client());
  wrong_key.key_file = pki().server().key.string();
  TlsSpec garbage_key = tls_with(pki().ca(), &pki().client());
  garbage_key.key_file = garbage.string();
  TlsSpec garbage_cert = tls_with(pki().ca(), &pki().client());
  garbage_cert.cert_file = garbage.string();
  TlsSpec encrypted_key = tls_with(pki().ca(), &pki().client());
  encrypted_key.key_file = encrypted.string();
  TlsSpec cert_only = tls_with(pki().ca(), &pki().client());
  cert_only.key_file.clear();
  const std::vector<Row> rows = {
      {missing_ca, {"cannot read probe.tls.ca_file", missing.string(), "No such file"}},
      {garbage_ca, {"probe.tls.ca_file", garbage.string(), "no PEM certificate"}},
      {missing_key, {"cannot read probe.tls.key_file", missing.string(), "No such file"}},
      {wrong_key, {"probe.tls.key_file", "is not the key of probe.tls.cert_file"}},
      {garbage_key, {"probe.tls.key_file", garbage.string(), "no PEM private key"}},
      {garbage_cert, {"probe.tls.cert_file", garbage.string(), "no PEM certificate"}},
      {encrypted_key, {"probe.tls.key_file", "encrypted"}},
      {cert_only, {"must be given together"}},
  };
  for (const Row& row : rows) {
    std::string error;
    CHECK(make_channel_credentials(row.tls, error) == nullptr);
    INFO(error);
    for (const std::string& w : row.words) CHECK(error.find(w) != std::string::npos);
    check_no_key_material(error);
  }
  std::string error;
  CHECK(make_channel_credentials(tls_with(pki().ca(), &pki().client()), error) != nullptr);
  CHECK(make_channel_credentials(TlsSpec{}, error) != nullptr);  // plaintext
  CHECK(error.empty());
}

TEST_CASE("TLS failures: gRPC's handshake errors become sentences naming the setting", "[tls]") {
  using registrar::probe::explain_tls_failure;
  auto unavailable = [](const std::string& last) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "failed to connect to all addresses; last error: " + last);
  };
  const TlsSpec tls = tls_with("/etc/ca.pem");
  const TlsSpec mtls = tls_with("/etc/ca.pem", &pki().client());
  struct Row {
    grpc::Status status;
    TlsSpec tls;
    std::optional<std::string> has;
  };
  const std::vector<Row> rows = {
      {unavailable("UNKNOWN: ipv4:127.0.0.1:5: Ssl handshake failed: SSL_ERROR_SSL: "
                   "error:0A000086:SSL routines::certificate verify failed"),
       tls, "not trusted (check probe.tls.ca_file /etc/ca.pem)"},
      {unavailable("UNKNOWN: ipv4:127.0.0.1:5: Peer name x.example is not in peer certificate"),
       tls, "check probe.tls.server_name"},
      {unavailable("UNKNOWN: ipv4:127.0.0.1:5: Ssl handshake failed: SSL_ERROR_SSL: "
                   "error:0A00010B:SSL routines::wrong version number"),
       tls, "does not speak TLS"},
      {unavailable("UNAVAILABLE: ipv4:127.0.0.1:5: Socket closed"), tls,
       "may require a client certificate (set probe.tls.cert_file and probe.tls.key_file)"},
      {unavailable("UNAVAILABLE: ipv4:127.0.0.1:5: Socket closed"), mtls,
       "may not accept the client certificate (check probe.tls.cert_file"},
      {unavailable("UNAVAILABLE: ipv4:127.0.0.1:5: Socket closed"), TlsSpec{},
       "if it serves TLS, set probe.tls"},
      {unavailable("UNKNOWN: ipv4:127.0.0.1:5: Failed to connect to remote host: Connection "
                   "refused"),
       tls, std::nullopt},
      {grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded"), tls, std::nullopt},
      {unavailable("UNKNOWN: ipv4:127.0.0.1:5: Ssl handshake failed: SSL_ERROR_SSL: "
                   "error:0A000086:SSL routines::certificate verify failed"),
       TlsSpec{}, std::nullopt},
  };
  for (const Row& row : rows) {
    const auto why = explain_tls_failure(row.status, row.tls);
    INFO(row.status.error_message() << " -> " << why.value_or("(nothing)"));
    REQUIRE(why.has_value() == row.has.has_value());
    if (row.has) CHECK(why->find(*row.has) != std::string::npos);
  }
  CHECK(registrar::probe::connection_error_text(
            "failed to connect to all addresses; last error: UNKNOWN: x: y") == "UNKNOWN: x: y");
}

TEST_CASE("TLS prober: a TLS server is probed with its CA, in watch and poll mode", "[tls]") {
  HealthServerFixture server(tls_server_options(false));
  server.set_status("", HealthCheckResponse::SERVING);
  for (const ProbeMode mode : {ProbeMode::Watch, ProbeMode::Poll}) {
    TlsHarness h;
    h.start(tls_spec(server.target(), mode, tls_with(pki().ca())));
    const auto serving = h.wait_for(Outcome::Serving);
    INFO(h.dump());
    REQUIRE(serving);
    const std::size_t from = h.results.size();
    server.set_status("", HealthCheckResponse::NOT_SERVING);
    CHECK(h.wait_for(Outcome::NotServing, from));
    server.set_status("", HealthCheckResponse::SERVING);
  }
}

TEST_CASE("TLS prober: a wrong CA is a failed probe that says to check probe.tls.ca_file",
          "[tls]") {
  HealthServerFixture server(tls_server_options(false));
  server.set_status("", HealthCheckResponse::SERVING);
  for (const ProbeMode mode : {ProbeMode::Watch, ProbeMode::Poll}) {
    TlsHarness h;
    h.start(tls_spec(server.target(), mode, tls_with(pki().other_ca())));
    const auto failed = h.wait_for(Outcome::Unreachable);
    INFO(h.dump());
    REQUIRE(failed);
    CHECK(failed->detail.find("TLS handshake failed") != std::string::npos);
    CHECK(failed->detail.find("probe.tls.ca_file " + pki().other_ca().string()) !=
          std::string::npos);
    CHECK(failed->detail.find(mode == ProbeMode::Watch ? "(watch)" : "(check)") !=
          std::string::npos);
    for (const Result& r : h.results) CHECK(r.outcome != Outcome::Serving);
  }
}

TEST_CASE("TLS prober: mTLS needs the client certificate", "[tls]") {
  HealthServerFixture server(tls_server_options(true));
  server.set_status("", HealthCheckResponse::SERVING);
  {
    TlsHarness h;
    h.start(tls_spec(server.target(), ProbeMode::Watch, tls_with(pki().ca())));
    const auto failed = h.wait_for(Outcome::Unreachable);
    INFO(h.dump());
    REQUIRE(failed);
    CHECK(failed->detail.find("client certificate") != std::string::npos);
    check_no_key_material(h.dump());
  }
  {
    TlsHarness h;
    h.start(
        tls_spec(server.target(), ProbeMode::Poll, tls_with(pki().ca(), &pki().foreign_client())));
    const auto failed = h.wait_for(Outcome::Unreachable);
    INFO(h.dump());
    REQUIRE(failed);
    CHECK(failed->detail.find("may not accept the client certificate") != std::string::npos);
  }
  {
    TlsHarness h;
    h.start(tls_spec(server.target(), ProbeMode::Watch, tls_with(pki().ca(), &pki().client())));
    const bool serving = h.wait_for(Outcome::Serving).has_value();
    INFO(h.dump());
    CHECK(serving);
    check_no_key_material(h.dump());
  }
}

TEST_CASE("TLS prober: TLS to a plaintext server, and plaintext to a TLS server", "[tls]") {
  HealthServerFixture plain;
  plain.set_status("", HealthCheckResponse::SERVING);
  HealthServerFixture secure(tls_server_options(false));
  secure.set_status("", HealthCheckResponse::SERVING);
  {
    TlsHarness h;
    h.start(tls_spec(plain.target(), ProbeMode::Poll, tls_with(pki().ca())));
    const auto failed = h.wait_for(Outcome::Unreachable);
    INFO(h.dump());
    REQUIRE(failed);
    CHECK(failed->detail.find("does not speak TLS") != std::string::npos);
  }
  {
    TlsHarness h;
    h.start(tls_spec(secure.target(), ProbeMode::Watch, TlsSpec{}));
    const auto failed = h.wait_for(Outcome::Unreachable);
    INFO(h.dump());
    REQUIRE(failed);
    CHECK(failed->detail.find("if it serves TLS, set probe.tls") != std::string::npos);
  }
}

TEST_CASE("TLS prober: an unreadable key is a failed probe, retried until the file is there",
          "[tls]") {
  HealthServerFixture server(tls_server_options(true));
  server.set_status("", HealthCheckResponse::SERVING);
  TempDir dir("probe-tls");
  TlsSpec tls = tls_with(pki().ca(), &pki().client());
  tls.key_file = (dir / "client-key.pem").string();  // not there yet
  for (const ProbeMode mode : {ProbeMode::Watch, ProbeMode::Poll}) {
    fs::remove(tls.key_file);
    TlsHarness h;
    h.start(tls_spec(server.target(), mode, tls));
    const auto failed = h.wait_for(Outcome::Unreachable);
    INFO(h.dump());
    REQUIRE(failed);
    CHECK(failed->detail == "TLS setup failed: cannot read probe.tls.key_file " + tls.key_file +
                                ": No such file or directory");
    fs::copy_file(pki().client().key, tls.key_file);
    fs::permissions(tls.key_file, fs::perms::owner_read | fs::perms::owner_write);
    const bool recovered = h.wait_for(Outcome::Serving, h.results.size()).has_value();
    INFO(h.dump());
    CHECK(recovered);
    check_no_key_material(h.dump());
  }
}

TEST_CASE("TLS prober: a CA file rotated after a failed handshake is read again", "[tls]") {
  HealthServerFixture server(tls_server_options(false));
  server.set_status("", HealthCheckResponse::SERVING);
  for (const ProbeMode mode : {ProbeMode::Watch, ProbeMode::Poll}) {
    TempDir dir("probe-tls");
    const fs::path ca = dir.write_file("ca.pem", read_text(pki().other_ca()));
    TlsHarness h;
    h.start(tls_spec(server.target(), mode, tls_with(ca)));
    const bool failed = h.wait_for(Outcome::Unreachable).has_value();
    INFO(h.dump());
    REQUIRE(failed);
    replace_file(ca, read_text(pki().ca()));
    const bool recovered = h.wait_for(Outcome::Serving, h.results.size()).has_value();
    INFO(h.dump());
    CHECK(recovered);
  }
}

TEST_CASE("TLS prober: one log line when the TLS problem starts, one when it ends", "[tls]") {
  HealthServerFixture server(tls_server_options(false));
  server.set_status("", HealthCheckResponse::SERVING);
  for (const ProbeMode mode : {ProbeMode::Watch, ProbeMode::Poll}) {
    INFO((mode == ProbeMode::Watch ? "watch" : "poll"));
    TempDir dir("probe-tls");
    const fs::path ca = dir.write_file("ca.pem", read_text(pki().other_ca()));
    CapturedLog log;
    TlsHarness h;
    h.start(tls_spec(server.target(), mode, tls_with(ca)));
    // Several failed probes (retries, repeats) in a row: still one line, naming service and cause.
    const bool failed_often = run_until(h.io, [&] {
      int n = 0;
      for (const Result& r : h.results) n += r.outcome == Outcome::Unreachable ? 1 : 0;
      return n >= 4;
    });
    INFO(h.dump() << log.text());
    REQUIRE(failed_often);
    CHECK(log.count("warning", "probe svc (") == 1);
    CHECK(log.count("warning", "not trusted (check probe.tls.ca_file " + ca.string() + ")") == 1);
    CHECK(log.count("error", "") == 0);
    replace_file(ca, read_text(pki().ca()));
    const bool recovered = h.wait_for(Outcome::Serving, h.results.size()).has_value();
    INFO(h.dump() << log.text());
    REQUIRE(recovered);
    CHECK(log.count("info", "probe svc (" + server.target() + "): connected over TLS") == 1);
    CHECK(log.count("info", "Watch stream restored") == 0);
    CHECK(log.count("warning", "probe svc (") == 1);
  }
}
