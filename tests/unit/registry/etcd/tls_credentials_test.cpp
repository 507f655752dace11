#include "registry/etcd/tls_credentials.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"

using registrar::config::TlsSpec;
using registrar::registry::etcd::read_tls_material;

namespace {
// Not real keys: read_tls_material only looks for PEM framing; gRPC parses them later.
constexpr const char* kCertPem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
constexpr const char* kKeyPem = "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n";
}  // namespace

TEST_CASE("TLS files are read whole, and a changed file changes the fingerprint") {
  registrar::test::TempDir dir;
  TlsSpec t;
  t.enabled = true;
  t.ca_file = dir.write_file("ca.pem", kCertPem).string();
  t.cert_file = dir.write_file("client.pem", kCertPem).string();
  t.key_file = dir.write_file("client-key.pem", kKeyPem).string();
  ::chmod(t.key_file.c_str(), 0600);
  std::string error;
  auto m = read_tls_material(t, error);
  REQUIRE(m);
  CHECK(m->ca == kCertPem);
  CHECK(m->key == kKeyPem);
  dir.write_file("ca.pem", std::string(kCertPem) + kCertPem);
  auto again = read_tls_material(t, error);
  REQUIRE(again);
  CHECK(again->fingerprint != m->fingerprint);
}

TEST_CASE("only a CA, or nothing: system roots and no client certificate") {
  TlsSpec t;
  t.enabled = true;
  std::string error;
  auto m = read_tls_material(t, error);
  REQUIRE(m);
  CHECK(m->ca.empty());
  CHECK(m->cert.empty());
  CHECK(m->key.empty());
}

TEST_CASE("an unreadable or non-PEM TLS file is an error naming the setting and the path") {
  registrar::test::TempDir dir;
  TlsSpec t;
  t.enabled = true;
  t.ca_file = (dir.path() / "missing-ca.pem").string();
  std::string error;
  CHECK_FALSE(read_tls_material(t, error));
  CHECK(error.find("cannot read registry.etcd.tls.ca_file: ") == 0);
  CHECK(error.find("missing-ca.pem") != std::string::npos);
  t.ca_file = dir.write_file("ca.pem", kCertPem).string();
  t.cert_file = dir.write_file("cert.pem", kCertPem).string();
  t.key_file = dir.write_file("key.pem", "not a key").string();
  ::chmod(t.key_file.c_str(), 0600);
  CHECK_FALSE(read_tls_material(t, error));
  CHECK(error.find("registry.etcd.tls.key_file") == 0);
  CHECK(error.find("holds no PEM data") != std::string::npos);
  CHECK(error.find("not a key") == std::string::npos);  // never the content
}
