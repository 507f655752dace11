// What a failed connection to a probed service means for its TLS settings: gRPC reports a failed
// handshake as UNAVAILABLE with OpenSSL's words in the message; this turns the common cases (a
// CA that did not sign the server's certificate, a certificate for another name, a plaintext
// server, a server that wants a client certificate) into a sentence that names the setting to
// check. Used in probe results (and so in Consul's check Output and /v1/services), in the log and
// by `grpc-registrar probe`. Texts name settings and file paths only, never file contents.
#pragma once

#include <grpcpp/support/status.h>

#include <optional>
#include <string>

#include "config/manifest.hpp"
#include "probe/tls_credentials.hpp"

namespace registrar::probe {

// The explanation of `status` under `tls`, e.g. "TLS handshake failed: the server's certificate
// is not trusted (check probe.tls.ca_file /etc/ca.pem)"; nullopt when the failure has nothing to
// do with TLS (refused, timeouts, answers). Without TLS, a server that closes every connection at
// once gets a hint that it may want TLS.
std::optional<std::string> explain_tls_failure(const grpc::Status& status,
                                               const config::TlsSpec& tls,
                                               const TlsSettingNames& names = {});

// gRPC's text for a failed connection without its preamble: what follows "last error: " (e.g.
// "UNKNOWN: ipv4:127.0.0.1:5000: Ssl handshake failed: SSL_ERROR_SSL: ... certificate verify
// failed"), else the whole message.
std::string connection_error_text(const std::string& grpc_message);

}  // namespace registrar::probe
