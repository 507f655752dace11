#include "registry/etcd/connect_diagnosis.hpp"

#include <catch2/catch.hpp>

using registrar::config::TlsSpec;
using registrar::registry::etcd::explain_connect_failure;
using registrar::registry::etcd::last_connect_error;

namespace {
// The messages below are gRPC 1.51's, as seen against etcd 3.4 (Debian bookworm).
constexpr const char* kWrongCa =
    "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:2379: Ssl handshake "
    "failed: SSL_ERROR_SSL: error:0A000086:SSL routines::certificate verify failed";
constexpr const char* kWrongName =
    "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:2379: Peer name "
    "wrong.example is not in peer certificate";
constexpr const char* kNoClientCert =
    "failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:2379: Endpoint "
    "read failed";
constexpr const char* kClosed =
    "failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:2379: Socket "
    "closed";
constexpr const char* kRefused =
    "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:2379: Failed to "
    "connect to remote host: Connection refused";

TlsSpec tls_with_ca() {
  TlsSpec t;
  t.enabled = true;
  t.ca_file = "/etc/registrar/etcd-ca.pem";
  return t;
}
}  // namespace

TEST_CASE("last_connect_error: gRPC's reason without the code and address in front") {
  CHECK(last_connect_error(kRefused) == "Failed to connect to remote host: Connection refused");
  CHECK(last_connect_error(kWrongName) == "Peer name wrong.example is not in peer certificate");
  CHECK(last_connect_error("Deadline Exceeded") == "Deadline Exceeded");
}

TEST_CASE("an untrusted server certificate points at ca_file, naming its path") {
  const auto m = explain_connect_failure(kWrongCa, "127.0.0.1:2379", tls_with_ca());
  CHECK(m.rfind("TLS handshake with 127.0.0.1:2379 failed: ", 0) == 0);
  CHECK(m.find("check registry.etcd.tls.ca_file") != std::string::npos);
  CHECK(m.find("/etc/registrar/etcd-ca.pem") != std::string::npos);
  CHECK(m.find("certificate verify failed") != std::string::npos);  // gRPC's own words kept
  TlsSpec system_roots;
  system_roots.enabled = true;
  const auto s = explain_connect_failure(kWrongCa, "127.0.0.1:2379", system_roots);
  CHECK(s.find("system's trusted roots; set registry.etcd.tls.ca_file") != std::string::npos);
}

TEST_CASE("a certificate without the name dialled points at server_name") {
  auto t = tls_with_ca();
  const auto m = explain_connect_failure(kWrongName, "127.0.0.1:2379", t);
  CHECK(m.find("does not carry the name wrong.example; set registry.etcd.tls.server_name") !=
        std::string::npos);
  t.server_name = "wrong.example";
  CHECK(explain_connect_failure(kWrongName, "127.0.0.1:2379", t)
            .find("check registry.etcd.tls.server_name") != std::string::npos);
}

TEST_CASE("etcd closing a TLS connection: without a client certificate, cert_file is named") {
  const auto m = explain_connect_failure(kNoClientCert, "127.0.0.1:2379", tls_with_ca());
  CHECK(m.find("closed the connection during the TLS handshake") != std::string::npos);
  CHECK(m.find("set registry.etcd.tls.cert_file and key_file") != std::string::npos);
  auto with_cert = tls_with_ca();
  with_cert.cert_file = "/etc/registrar/client.pem";
  with_cert.key_file = "/etc/registrar/client-key.pem";
  const auto c = explain_connect_failure(kClosed, "127.0.0.1:2379", with_cert);
  CHECK(c.find("does not accept registry.etcd.tls.cert_file (/etc/registrar/client.pem)") !=
        std::string::npos);
  CHECK(c.find("client-key.pem") == std::string::npos);  // the key's path is not needed here
}

TEST_CASE("a plaintext client whose connection is closed is told about registry.etcd.tls") {
  const auto m = explain_connect_failure(kClosed, "127.0.0.1:2379", TlsSpec{});
  CHECK(m.find("add a registry.etcd.tls section") != std::string::npos);
}

TEST_CASE("messages that say nothing about TLS are kept as gRPC wrote them") {
  CHECK(explain_connect_failure(kRefused, "127.0.0.1:2379", tls_with_ca()) == kRefused);
  CHECK(explain_connect_failure("Deadline Exceeded", "127.0.0.1:2379", tls_with_ca()) ==
        "Deadline Exceeded");
  CHECK(explain_connect_failure(kNoClientCert, "127.0.0.1:2379", TlsSpec{}) == kNoClientCert);
}
