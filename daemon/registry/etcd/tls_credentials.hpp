// TLS to etcd: the PEM files of registry.etcd.tls, read when a channel is (re)created, and the
// gRPC credentials made of them. Errors name the setting and the path, never any content.
#pragma once

#include <grpcpp/security/credentials.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "config/manifest.hpp"

namespace registrar::registry::etcd {

struct TlsMaterial {
  std::string ca;    // PEM roots; "" = gRPC's default roots
  std::string cert;  // PEM client certificate chain; "" = none
  std::string key;   // its private key (read with runtime::read_secret_file)
  // Changes whenever any of the three files does: a rotated file means a new channel.
  std::size_t fingerprint = 0;
};

// Reads the files `tls` names (the key with runtime::read_secret_file). On failure returns
// nullopt and sets `error`, e.g. "cannot read registry.etcd.tls.ca_file: /x: No such file or
// directory" or "registry.etcd.tls.cert_file (/x) holds no PEM data".
std::optional<TlsMaterial> read_tls_material(const config::TlsSpec& tls, std::string& error);

// SslCredentials of `material`.
std::shared_ptr<grpc::ChannelCredentials> make_tls_credentials(const TlsMaterial& material);

}  // namespace registrar::registry::etcd
