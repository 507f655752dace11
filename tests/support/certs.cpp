#include "support/certs.hpp"

#include <sys/stat.h>

#include <fstream>
#include <stdexcept>

#include "support/process.hpp"

namespace registrar::test {
namespace {

namespace fs = std::filesystem;

// The extensions of each kind of certificate, as an openssl -extfile.
void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
  if (!out) throw std::runtime_error("TestPki: cannot write " + p.string());
}

CertPair make_ca(const fs::path& dir, const std::string& name) {
  CertPair ca{dir / (name + ".pem"), dir / (name + "-key.pem")};
  run_openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", ca.key.string(), "-out", ca.cert.string(), "-days", "2", "-subj",
               "/CN=" + name, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
               "keyUsage=critical,keyCertSign,cRLSign"});
  ::chmod(ca.key.c_str(), 0600);
  return ca;
}

CertPair make_leaf(const fs::path& dir, const std::string& name, const CertPair& ca,
                   const std::string& cn, const std::string& extensions) {
  CertPair leaf{dir / (name + ".pem"), dir / (name + "-key.pem")};
  const fs::path csr = dir / (name + ".csr");
  const fs::path ext = dir / (name + ".ext");
  write_file(ext, extensions);
  run_openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
               leaf.key.string(), "-out", csr.string(), "-subj", "/CN=" + cn});
  run_openssl({"x509", "-req", "-in", csr.string(), "-CA", ca.cert.string(), "-CAkey",
               ca.key.string(), "-CAcreateserial", "-out", leaf.cert.string(), "-days", "2",
               "-extfile", ext.string()});
  ::chmod(leaf.key.c_str(), 0600);
  return leaf;
}

}  // namespace

std::string run_openssl(const std::vector<std::string>& args) {
  CommandResult r = run_command("openssl", args, 30s);
  if (!r.status.exited_with(0)) {
    std::string line = "openssl";
    for (const auto& a : args) line += " " + a;
    throw std::runtime_error("TestPki: `" + line + "` failed (" + r.status.describe() +
                             "): " + r.err + r.out);
  }
  return r.out + r.err;
}

TestPki::TestPki(const std::string& server_names) : dir_("registrar-pki") {
  const fs::path& d = dir_.path();
  ca_ = make_ca(d, "ca");
  other_ = make_ca(d, "other-ca");
  std::string sans = "IP:127.0.0.1";
  std::size_t start = 0;
  while (start <= server_names.size()) {
    std::size_t comma = server_names.find(',', start);
    std::string name =
        server_names.substr(start, comma == std::string::npos ? comma : comma - start);
    if (!name.empty()) sans += ",DNS:" + name;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  server_ = make_leaf(d, "server", ca_, "server",
                      "basicConstraints=CA:FALSE\n"
                      "keyUsage=critical,digitalSignature\n"
                      "extendedKeyUsage=serverAuth\n"
                      "subjectAltName=" +
                          sans + "\n");
  // etcd checks client certificates' extended key usage; clientAuth is what it asks for.
  client_ = make_leaf(d, "client", ca_, "registrar",
                      "basicConstraints=CA:FALSE\n"
                      "keyUsage=critical,digitalSignature\n"
                      "extendedKeyUsage=clientAuth\n");
  foreign_client_ = make_leaf(d, "foreign-client", other_, "intruder",
                              "basicConstraints=CA:FALSE\n"
                              "keyUsage=critical,digitalSignature\n"
                              "extendedKeyUsage=clientAuth\n");
}

}  // namespace registrar::test
