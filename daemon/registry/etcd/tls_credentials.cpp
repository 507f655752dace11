#include "registry/etcd/tls_credentials.hpp"

#include <functional>

#include "runtime/bounded_file.hpp"
#include "runtime/secret_file.hpp"

namespace registrar::registry::etcd {

namespace {

constexpr const char* kSetting = "registry.etcd.tls.";

bool has_pem(const std::string& text) {
  return text.find("-----BEGIN ") != std::string::npos;
}

bool read_one(const char* key, const std::string& path, bool secret, std::string& out,
              std::string& error) {
  if (path.empty()) return true;
  std::string why;
  std::optional<std::string> text;
  if (secret) {
    runtime::SecretReadOptions options;
    options.what = std::string(kSetting) + key;
    text = runtime::read_secret_file(path, why, options);
  } else {
    // Certificates are public: read plainly (no world-readable warning), with the same bound.
    text = runtime::read_bounded_file(path, runtime::kMaxCredentialFileBytes, why);
    if (!text) why = path + ": " + why;
  }
  if (!text) {
    error = "cannot read " + std::string(kSetting) + key + ": " + why;
    return false;
  }
  if (!has_pem(*text)) {
    error = std::string(kSetting) + key + " (" + path + ") holds no PEM data";
    return false;
  }
  out = std::move(*text);
  return true;
}

}  // namespace

std::optional<TlsMaterial> read_tls_material(const config::TlsSpec& tls, std::string& error) {
  TlsMaterial m;
  if (!read_one("ca_file", tls.ca_file, false, m.ca, error) ||
      !read_one("cert_file", tls.cert_file, false, m.cert, error) ||
      !read_one("key_file", tls.key_file, true, m.key, error))
    return std::nullopt;
  std::string all = m.ca;
  all += '\0';
  all += m.cert;
  all += '\0';
  all += m.key;
  m.fingerprint = std::hash<std::string>{}(all);
  return m;
}

std::shared_ptr<grpc::ChannelCredentials> make_tls_credentials(const TlsMaterial& material) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = material.ca;
  options.pem_cert_chain = material.cert;
  options.pem_private_key = material.key;
  return grpc::SslCredentials(options);
}

}  // namespace registrar::registry::etcd
