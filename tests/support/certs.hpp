// TestPki: a throw-away certificate authority made with the openssl command line at test time,
// in a private temp dir: a CA, a server certificate for 127.0.0.1 / localhost, a client
// certificate (mTLS), and a second, unrelated CA to test "wrong CA" failures. Keys are EC P-256
// (fast to generate). Nothing is committed: every run makes fresh ones.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace registrar::test {

struct CertPair {
  std::filesystem::path cert;  // PEM certificate
  std::filesystem::path key;   // PEM private key (mode 0600)
};

class TestPki {
 public:
  // Generates everything; throws std::runtime_error with openssl's output when a step fails.
  // `server_names` are the server certificate's DNS SANs (it always has IP:127.0.0.1 too).
  explicit TestPki(const std::string& server_names = "localhost");

  const std::filesystem::path& ca() const { return ca_.cert; }           // the trusted CA
  const std::filesystem::path& other_ca() const { return other_.cert; }  // an unrelated CA
  const CertPair& server() const { return server_; }  // signed by ca(), serverAuth
  const CertPair& client() const { return client_; }  // signed by ca(), clientAuth, CN=registrar
  // A client certificate signed by other_ca(): a server that trusts only ca() refuses it.
  const CertPair& foreign_client() const { return foreign_client_; }
  const std::filesystem::path& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  CertPair ca_;
  CertPair other_;
  CertPair server_;
  CertPair client_;
  CertPair foreign_client_;
};

// Runs `openssl` with `args`; returns its combined output, throws on a non-zero exit.
std::string run_openssl(const std::vector<std::string>& args);

}  // namespace registrar::test
