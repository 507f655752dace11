// Client TLS for gRPC connections to probed services: the PEM files of a config::TlsSpec read and
// checked, turned into grpc::SslCredentials, plus a stamp of the files to notice rotation.
// Used by the probers (probe_channel.cpp) and by `grpc-registrar probe`.
#pragma once

#include <memory>
#include <string>

#include "config/manifest.hpp"

namespace grpc {
class ChannelCredentials;
class ChannelArguments;
}  // namespace grpc

namespace registrar::probe {

// How the settings are called where they came from, for messages: the manifest's keys by default,
// the CLI's flags for `grpc-registrar probe`.
struct TlsSettingNames {
  std::string section = "probe.tls";
  std::string ca_file = "probe.tls.ca_file";
  std::string cert_file = "probe.tls.cert_file";
  std::string key_file = "probe.tls.key_file";
  std::string server_name = "probe.tls.server_name";
};

// Credentials for `tls`: insecure ones when !tls.enabled, else SslCredentials with the CA bundle
// (or the system's roots when ca_file is ""), and the client certificate and key when given. The
// files are read now (the key with runtime::read_secret_file) and checked: each must hold PEM of
// the right kind, an encrypted key is refused, and the key must belong to the certificate. On
// failure: nullptr, and `error` says which setting and file and why, e.g.
// "cannot read probe.tls.key_file /etc/k.pem: Permission denied"; never any file content.
std::shared_ptr<grpc::ChannelCredentials> make_channel_credentials(
    const config::TlsSpec& tls, std::string& error, const TlsSettingNames& names = {});

// Sets the name the server's certificate is checked against (tls.server_name), if any.
void apply_tls_arguments(const config::TlsSpec& tls, grpc::ChannelArguments& args);

// A stamp of the TLS files (device, inode, size and modification time of each, or "missing"):
// it changes when a file is rewritten or replaced (renamed over, as tools that rotate
// certificates do). "" when TLS is off.
std::string tls_files_stamp(const config::TlsSpec& tls);

// The TLS settings as text, for keys and messages: "plaintext", or "tls ca=... cert=... key=...
// name=...". File paths only.
std::string tls_settings_text(const config::TlsSpec& tls);

}  // namespace registrar::probe
