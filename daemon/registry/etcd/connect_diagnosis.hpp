// Why a connection to etcd failed, in an operator's terms. gRPC (1.51) reports a failed
// connection in the status of a call that does not wait for the channel: "failed to connect to
// all addresses; last error: UNKNOWN: ipv4:127.0.0.1:2379: Ssl handshake failed: ...". The
// handful of causes told apart here are the ones whose gRPC text says what happened (an untrusted
// server certificate, a server name it does not carry) or narrows it down (etcd closing a TLS
// connection during the handshake); any other message is kept as gRPC wrote it.
#pragma once

#include <string>
#include <string_view>

#include "config/manifest.hpp"

namespace registrar::registry::etcd {

// gRPC's reason after "last error: ", without the "CODE: ipv4:host:port: " in front of it;
// `message` itself when it has no such part.
std::string last_connect_error(std::string_view message);

// `message` (a failed call's status message) explained for `endpoint` and the TLS settings in
// use, e.g. "TLS handshake with 127.0.0.1:2379 failed: etcd's certificate is not signed by a CA
// in registry.etcd.tls.ca_file (/etc/etcd-ca.pem); check registry.etcd.tls.ca_file (gRPC:
// ...)". Returns `message` unchanged when gRPC's text does not say enough.
std::string explain_connect_failure(std::string_view message, const std::string& endpoint,
                                    const config::TlsSpec& tls);

}  // namespace registrar::registry::etcd
