// The pure pieces of HTTPS to a registry server (worded as for the Consul agent, the first
// backend to use them): what the certificate is checked against, the one-sentence explanation of
// each handshake failure, and context errors that name the file and the setting. (The handshakes
// themselves: tests/integration/security_consul_test.cpp.)
#include "registry/http/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <unistd.h>

#include <boost/asio/ssl/error.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "registry/consul/tls_names.hpp"

using namespace registrar;
using namespace registrar::registry::http;

namespace {

// The tests read Consul's wording, the first backend's (every text below is one it logs).
const TlsNames& names() {
  return registrar::registry::consul::consul_tls_names();
}

boost::system::error_code ssl_error(int reason) {
  return {static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, reason)),
          boost::asio::error::get_ssl_category()};
}

config::TlsSpec spec(std::string ca = "/etc/consul/ca.pem", std::string cert = "",
                     std::string key = "") {
  config::TlsSpec t;
  t.enabled = true;
  t.ca_file = std::move(ca);
  t.cert_file = std::move(cert);
  t.key_file = std::move(key);
  return t;
}

struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& content) {
    path = std::filesystem::temp_directory_path() /
           ("registrar-tls-test-" + std::to_string(::getpid()) + "-" +
            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::ofstream(path) << content;
  }
  ~TempFile() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("tls peer: server_name wins, else the host, and IP addresses get no SNI") {
  config::TlsSpec t = spec();
  TlsPeer p = tls_peer(t, "consul.internal");
  CHECK(p.name == "consul.internal");
  CHECK_FALSE(p.is_ip);
  CHECK(p.sni == "consul.internal");

  p = tls_peer(t, "127.0.0.1");
  CHECK(p.name == "127.0.0.1");
  CHECK(p.is_ip);
  CHECK(p.sni.empty());

  p = tls_peer(t, "::1");
  CHECK(p.is_ip);
  CHECK(p.sni.empty());

  t.server_name = "localhost";
  p = tls_peer(t, "127.0.0.1");
  CHECK(p.name == "localhost");
  CHECK_FALSE(p.is_ip);
  CHECK(p.sni == "localhost");
}

TEST_CASE("tls failure: an untrusted certificate names the CA setting and file") {
  const TlsPeer peer = tls_peer(spec(), "127.0.0.1");
  const std::string text =
      describe_tls_failure(ssl_error(SSL_R_CERTIFICATE_VERIFY_FAILED),
                           X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, spec(), peer, names());
  CHECK(text ==
        "TLS: the agent's certificate is not signed by a trusted CA (check "
        "registry.consul.tls.ca_file / CONSUL_CACERT (/etc/consul/ca.pem))");
  const std::string system =
      describe_tls_failure(ssl_error(SSL_R_CERTIFICATE_VERIFY_FAILED),
                           X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, spec(""), peer, names());
  CHECK(system.find("the system's CA store; set registry.consul.tls.ca_file / CONSUL_CACERT") !=
        std::string::npos);
}

TEST_CASE("tls failure: a name mismatch names server_name and what was checked") {
  config::TlsSpec t = spec();
  t.server_name = "consul.example";
  const std::string dns =
      describe_tls_failure(ssl_error(SSL_R_CERTIFICATE_VERIFY_FAILED), X509_V_ERR_HOSTNAME_MISMATCH,
                           t, tls_peer(t, "127.0.0.1"), names());
  CHECK(dns ==
        "TLS: the agent's certificate is not valid for \"consul.example\" (check "
        "registry.consul.tls.server_name / CONSUL_TLS_SERVER_NAME, or the host of the address)");
  const std::string ip = describe_tls_failure(ssl_error(SSL_R_CERTIFICATE_VERIFY_FAILED),
                                              X509_V_ERR_IP_ADDRESS_MISMATCH, spec(),
                                              tls_peer(spec(), "10.0.0.7"), names());
  CHECK(ip.find("not valid for IP address 10.0.0.7") != std::string::npos);
}

TEST_CASE("tls failure: expiry and other verification errors") {
  const TlsPeer peer = tls_peer(spec(), "127.0.0.1");
  CHECK(describe_tls_failure(ssl_error(SSL_R_CERTIFICATE_VERIFY_FAILED),
                             X509_V_ERR_CERT_HAS_EXPIRED, spec(), peer,
                             names()) == "TLS: the agent's certificate has expired");
  const std::string other = describe_tls_failure(ssl_error(SSL_R_CERTIFICATE_VERIFY_FAILED),
                                                 X509_V_ERR_INVALID_PURPOSE, spec(), peer, names());
  CHECK(other.find("TLS: the agent's certificate failed verification: ") == 0);
  CHECK(other.find("CONSUL_CACERT") != std::string::npos);
}

TEST_CASE("tls failure: the agent wants a client certificate, or refuses ours") {
  const TlsPeer peer = tls_peer(spec(), "127.0.0.1");
  const std::string required = describe_tls_failure(
      ssl_error(SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED), X509_V_OK, spec(), peer, names());
  CHECK(required ==
        "TLS: the agent requires a client certificate (verify_incoming); set "
        "registry.consul.tls.cert_file / CONSUL_CLIENT_CERT and registry.consul.tls.key_file / "
        "CONSUL_CLIENT_KEY");
  // Go's crypto/tls (1.19): "bad certificate" for a missing certificate too.
  CHECK(describe_tls_failure(ssl_error(SSL_R_SSLV3_ALERT_BAD_CERTIFICATE), X509_V_OK, spec(), peer,
                             names()) == required);
  // A new connection closed right after the handshake (the alert lost to the reset): the same.
  CHECK(describe_client_certificate_refused(spec(), names()) == required);
  // Other refusals without a certificate: maybe that.
  const std::string other = describe_tls_failure(ssl_error(SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE),
                                                 X509_V_OK, spec(), peer, names());
  CHECK(other.find("TLS: the agent refused the handshake (") == 0);
  CHECK(other.find("it may require a client certificate") != std::string::npos);

  const config::TlsSpec mtls = spec("/ca.pem", "/client.pem", "/client.key");
  const std::string refused =
      describe_tls_failure(ssl_error(SSL_R_TLSV1_ALERT_UNKNOWN_CA), X509_V_OK, mtls,
                           tls_peer(mtls, "127.0.0.1"), names());
  CHECK(refused ==
        "TLS: the agent refused our client certificate /client.pem: is it signed by a CA the "
        "agent trusts, and valid for client authentication? Check registry.consul.tls.cert_file / "
        "CONSUL_CLIENT_CERT and registry.consul.tls.key_file / CONSUL_CLIENT_KEY");
  CHECK(describe_tls_failure(ssl_error(SSL_R_SSLV3_ALERT_BAD_CERTIFICATE), X509_V_OK, mtls,
                             tls_peer(mtls, "127.0.0.1"), names()) == refused);
  CHECK(describe_client_certificate_refused(mtls, names()) == refused);
  // An alert that says more keeps its name.
  const std::string expired = describe_tls_failure(ssl_error(SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED),
                                                   X509_V_OK, mtls, tls_peer(mtls, "::1"), names());
  CHECK(expired.find("TLS: the agent refused our client certificate /client.pem (") == 0);
  CHECK(expired.find("): is it signed by a CA the agent trusts") != std::string::npos);
}

TEST_CASE("tls failure: plain HTTP on the other end, a closed connection, anything else") {
  const TlsPeer peer = tls_peer(spec(), "127.0.0.1");
  CHECK(
      describe_tls_failure(ssl_error(SSL_R_WRONG_VERSION_NUMBER), X509_V_OK, spec(), peer, names())
          .find("the agent does not speak TLS at this address") != std::string::npos);
  CHECK(describe_tls_failure(boost::asio::ssl::error::stream_truncated, X509_V_OK, spec(), peer,
                             names()) ==
        "TLS: the agent closed the connection during the TLS handshake");
  CHECK(is_tls_error(ssl_error(SSL_R_WRONG_VERSION_NUMBER)));
  CHECK_FALSE(is_tls_error(boost::asio::error::connection_refused));
  CHECK(describe_tls_failure(boost::asio::error::connection_reset, X509_V_OK, spec(), peer, names())
            .find("TLS handshake failed: ") == 0);
}

TEST_CASE("tls context: unreadable or empty files are errors naming the setting and the path") {
  std::string error;
  CHECK_FALSE(make_tls_context(spec("/nonexistent/registrar/ca.pem"), names(), error));
  CHECK(error ==
        "TLS: cannot read registry.consul.tls.ca_file / CONSUL_CACERT "
        "(/nonexistent/registrar/ca.pem): No such file or directory");

  TempFile not_pem("hello\n");
  error.clear();
  CHECK_FALSE(make_tls_context(spec(not_pem.path.string()), names(), error));
  CHECK(error == "TLS: registry.consul.tls.ca_file / CONSUL_CACERT (" + not_pem.path.string() +
                     ") holds no PEM certificate");

  // Verification off: the CA is not read at all; a missing client certificate still counts.
  config::TlsSpec skip = spec("/nonexistent/ca.pem", "/nonexistent/client.pem", "/nonexistent/k");
  skip.insecure_skip_verify = true;
  error.clear();
  CHECK_FALSE(make_tls_context(skip, names(), error));
  CHECK(error ==
        "TLS: cannot read registry.consul.tls.cert_file / CONSUL_CLIENT_CERT "
        "(/nonexistent/client.pem): No such file or directory");

  // No CA file: the system's store, which exists on every supported system.
  error.clear();
  CHECK(make_tls_context(spec(""), names(), error));
  CHECK(error.empty());
}

TEST_CASE("tls names of another backend: its section's keys and its server in every sentence") {
  const TlsNames eureka = tls_names_for("eureka", "the Eureka server");
  CHECK(eureka.ca_file == "registry.eureka.tls.ca_file");
  CHECK(eureka.key_setting == "registry.eureka.tls.key_file");
  const TlsPeer peer = tls_peer(spec(), "127.0.0.1");
  CHECK(describe_tls_failure(ssl_error(SSL_R_CERTIFICATE_VERIFY_FAILED),
                             X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, spec(), peer, eureka) ==
        "TLS: the Eureka server's certificate is not signed by a trusted CA (check "
        "registry.eureka.tls.ca_file (/etc/consul/ca.pem))");
  CHECK(describe_client_certificate_refused(spec(), eureka) ==
        "TLS: the Eureka server requires a client certificate; set registry.eureka.tls.cert_file "
        "and registry.eureka.tls.key_file");
  CHECK(describe_tls_failure(ssl_error(SSL_R_WRONG_VERSION_NUMBER), X509_V_OK, spec(), peer,
                             eureka) ==
        "TLS: the Eureka server does not speak TLS at this address (plain HTTP? use the server's "
        "HTTPS port, or an http:// address)");
  std::string error;
  CHECK_FALSE(make_tls_context(spec("/nonexistent/registrar/ca.pem"), eureka, error));
  CHECK(error.find("registry.eureka.tls.ca_file (/nonexistent/registrar/ca.pem)") !=
        std::string::npos);
}
