// TLS to an HTTP registry server (the Consul agent: registry.consul.tls, https://,
// CONSUL_HTTP_SSL and the CONSUL_CACERT family; the heartbeat registries alike): the client
// context of one connection, what the server's certificate is checked against, and one clear
// sentence per handshake failure naming the setting to check (TlsNames: each backend's words).
//
// A new context is made for every connection, from the files as they are at that moment: a
// rotated CA bundle, client certificate or key is used by the next connection, with no restart.
// Connections are kept alive, so this costs one read of a few small files per reconnect.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>

#include "config/manifest.hpp"
#include "registry/http/tls_names.hpp"

typedef struct ssl_st SSL;

namespace registrar::registry::http {

// What the server's certificate must be valid for.
struct TlsPeer {
  std::string name;    // registry.consul.tls.server_name, else the host of the address
  bool is_ip = false;  // an IP address: matched against the certificate's IP SANs
  std::string sni;     // the server name indication sent: `name`, or "" for an IP address
};

TlsPeer tls_peer(const config::TlsSpec& tls, const std::string& host);

// A client context for one connection: TLS 1.2 or later (the minimum of a Consul agent's
// default tls_min_version, and of every server we speak to), the CAs of ca_file (else the system's
// default verify paths), the client certificate and key (the key read with
// runtime::read_secret_file), and peer verification unless insecure_skip_verify. On failure:
// nullptr, and `error` names the file and the setting ("registry.consul.tls.ca_file /
// CONSUL_CACERT").
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const config::TlsSpec& tls,
                                                            const TlsNames& names,
                                                            std::string& error);

// Sets SNI and the name check on one connection's SSL object. Returns "" or why not.
std::string prepare_tls_connection(SSL* ssl, const TlsPeer& peer, bool verify);

// One sentence for a failed handshake (or a TLS alert the server sent right after it, as a TLS
// 1.3 server refusing a client certificate does): the cause and the setting to check.
// `verify_result` is SSL_get_verify_result() of the connection (X509_V_OK when not known).
std::string describe_tls_failure(const boost::system::error_code& ec, long verify_result,
                                 const config::TlsSpec& tls, const TlsPeer& peer,
                                 const TlsNames& names);

// The server refused the client certificate, or wanted one and got none (verify_incoming). Also
// what a new connection closed by the server right after a successful handshake, before any
// answer, means: with TLS 1.3 the server checks the client certificate after the client's side of
// the handshake is done, and its alert may be lost to the TCP reset that follows it.
std::string describe_client_certificate_refused(const config::TlsSpec& tls, const TlsNames& names);

// True for the error codes describe_tls_failure() explains (TLS library errors).
bool is_tls_error(const boost::system::error_code& ec);

}  // namespace registrar::registry::http
