#include "registry/http/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <optional>

#include "runtime/bounded_file.hpp"
#include "runtime/secret_file.hpp"

namespace registrar::registry::http {

namespace {

namespace ssl = boost::asio::ssl;

constexpr std::size_t kMaxPemBytes = runtime::kMaxCredentialFileBytes;

// The first OpenSSL error on the queue as text (and the queue cleared).
std::string openssl_error(const std::string& fallback) {
  const unsigned long code = ERR_peek_last_error();
  std::string text = fallback;
  if (code != 0) {
    const char* reason = ERR_reason_error_string(code);
    if (reason != nullptr) text = reason;
  }
  ERR_clear_error();
  return text;
}

// Adds every certificate of a PEM bundle to the context's trust store; returns how many.
int add_cas(SSL_CTX* ctx, const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return 0;
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int count = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, cert);  // a duplicate is not an error worth reporting
    X509_free(cert);
    ++count;
  }
  ERR_clear_error();  // the loop ends on "no start line"
  BIO_free(bio);
  return count;
}

bool is_ip_address(const std::string& text) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(text, ec);
  return !ec;
}

int ssl_reason(const boost::system::error_code& ec) {
  return ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
}

std::string in_file(const std::string& setting, const std::string& path) {
  return setting + " (" + path + ")";
}

}  // namespace

TlsPeer tls_peer(const config::TlsSpec& tls, const std::string& host) {
  TlsPeer p;
  p.name = tls.server_name.empty() ? host : tls.server_name;
  if (p.name.size() >= 2 && p.name.front() == '[' && p.name.back() == ']')
    p.name = p.name.substr(1, p.name.size() - 2);
  p.is_ip = is_ip_address(p.name);
  if (!p.is_ip) p.sni = p.name;  // RFC 6066: SNI never carries an IP address literal
  return p;
}

TlsNames tls_names_for(const std::string& section, const std::string& peer) {
  const std::string prefix = "registry." + section + ".tls.";
  TlsNames n;
  n.peer = peer;
  n.ca_file = prefix + "ca_file";
  n.cert_file = prefix + "cert_file";
  n.key_file = prefix + "key_file";
  n.key_setting = n.key_file;
  n.server_name = prefix + "server_name";
  n.plain_http_hint = "(plain HTTP? use the server's HTTPS port, or an http:// address)";
  return n;
}

std::shared_ptr<ssl::context> make_tls_context(const config::TlsSpec& tls, const TlsNames& names,
                                               std::string& error) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  boost::system::error_code ec;

  if (!tls.insecure_skip_verify) {
    if (!tls.ca_file.empty()) {
      std::string why;
      auto pem = runtime::read_bounded_file(tls.ca_file, kMaxPemBytes, why);
      if (!pem) {
        error = "TLS: cannot read " + in_file(names.ca_file, tls.ca_file) + ": " + why;
        return nullptr;
      }
      if (add_cas(native, *pem) == 0) {
        error = "TLS: " + in_file(names.ca_file, tls.ca_file) + " holds no PEM certificate";
        return nullptr;
      }
    } else if (SSL_CTX_set_default_verify_paths(native) != 1) {
      error = "TLS: cannot load the system's CA certificates (" + openssl_error("unknown error") +
              "); set " + names.ca_file;
      return nullptr;
    }
    ctx->set_verify_mode(ssl::verify_peer);
  } else {
    ctx->set_verify_mode(ssl::verify_none);
  }

  if (!tls.cert_file.empty()) {
    std::string why;
    auto pem = runtime::read_bounded_file(tls.cert_file, kMaxPemBytes, why);
    if (!pem) {
      error = "TLS: cannot read " + in_file(names.cert_file, tls.cert_file) + ": " + why;
      return nullptr;
    }
    ctx->use_certificate_chain(boost::asio::buffer(*pem), ec);
    if (ec) {
      error = "TLS: " + in_file(names.cert_file, tls.cert_file) +
              " is not a PEM certificate: " + openssl_error(ec.message());
      return nullptr;
    }
    runtime::SecretReadOptions options;
    options.max_bytes = kMaxPemBytes;
    options.what = names.key_setting;
    auto key = runtime::read_secret_file(tls.key_file, why, options);
    if (!key) {
      error = "TLS: cannot read " + std::string(names.key_file) + ": " + why;
      return nullptr;
    }
    ctx->use_private_key(boost::asio::buffer(*key), ssl::context::pem, ec);
    OPENSSL_cleanse(key->data(), key->size());
    if (ec) {
      error = "TLS: " + in_file(names.key_file, tls.key_file) +
              " is not a PEM private key (or is encrypted): " + openssl_error(ec.message());
      return nullptr;
    }
    if (SSL_CTX_check_private_key(native) != 1) {
      ERR_clear_error();
      error = "TLS: the key in " + in_file(names.key_file, tls.key_file) +
              " does not belong to the certificate in " + tls.cert_file;
      return nullptr;
    }
  }
  return ctx;
}

std::string prepare_tls_connection(SSL* ssl, const TlsPeer& peer, bool verify) {
  if (!peer.sni.empty() && SSL_set_tlsext_host_name(ssl, peer.sni.c_str()) != 1)
    return "TLS: cannot set the server name \"" + peer.sni + "\": " + openssl_error("?");
  if (!verify) return "";
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (peer.is_ip) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, peer.name.c_str()) != 1)
      return "TLS: cannot check the certificate against " + peer.name;
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_host(param, peer.name.c_str(), peer.name.size()) != 1)
      return "TLS: cannot check the certificate against \"" + peer.name + "\"";
  }
  return "";
}

std::string describe_client_certificate_refused(const config::TlsSpec& tls, const TlsNames& names) {
  if (tls.cert_file.empty())
    return "TLS: " + names.peer + " requires a client certificate" + names.client_cert_hint +
           "; set " + names.cert_file + " and " + names.key_file;
  return "TLS: " + names.peer + " refused our client certificate " + tls.cert_file +
         ": is it signed by a CA " + names.peer +
         " trusts, and valid for client authentication? Check " + names.cert_file + " and " +
         names.key_file;
}

bool is_tls_error(const boost::system::error_code& ec) {
  return ec.category() == boost::asio::error::get_ssl_category() ||
         ec.category() == boost::asio::ssl::error::get_stream_category();
}

std::string describe_tls_failure(const boost::system::error_code& ec, long verify_result,
                                 const config::TlsSpec& tls, const TlsPeer& peer,
                                 const TlsNames& names) {
  const std::string ca = tls.ca_file.empty()
                             ? std::string("the system's CA store; set ") + names.ca_file
                             : in_file(names.ca_file, tls.ca_file);
  const std::string what = peer.is_ip ? "IP address " + peer.name : "\"" + peer.name + "\"";
  if (ec.category() == boost::asio::ssl::error::get_stream_category() ||
      (ec.category() == boost::asio::error::get_ssl_category() &&
       ssl_reason(ec) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
    return "TLS: " + names.peer + " closed the connection during the TLS handshake";
  }
  if (ec.category() != boost::asio::error::get_ssl_category())
    return "TLS handshake failed: " + ec.message();
  const bool have_client_cert = !tls.cert_file.empty();
  switch (ssl_reason(ec)) {
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
      switch (verify_result) {
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
          return "TLS: " + names.peer + "'s certificate is not valid for " + what + " (check " +
                 names.server_name + ", or the host of the address)";
        case X509_V_ERR_CERT_HAS_EXPIRED:
          return "TLS: " + names.peer + "'s certificate has expired";
        case X509_V_ERR_CERT_NOT_YET_VALID:
          return "TLS: " + names.peer + "'s certificate is not valid yet (check the clocks)";
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_CERT_SIGNATURE_FAILURE:
          return "TLS: " + names.peer + "'s certificate is not signed by a trusted CA (check " +
                 ca + ")";
        default:
          return std::string("TLS: " + names.peer + "'s certificate failed verification: ") +
                 X509_verify_cert_error_string(verify_result) + " (check " + ca + ")";
      }
    // Go's TLS server (a Consul agent) refuses a missing or untrusted client certificate with
    // "bad certificate" (crypto/tls in Go 1.19, both versions); TLS 1.3 defines "certificate
    // required" for a missing one.
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
      return describe_client_certificate_refused(tls, names);
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
      if (!have_client_cert)
        return "TLS: " + names.peer + " refused the handshake (" + ec.message() +
               "); it may require a client certificate" + names.client_cert_hint + ": set " +
               names.cert_file + " and " + names.key_file;
      return "TLS: " + names.peer + " refused our client certificate " + tls.cert_file + " (" +
             ec.message() + "): is it signed by a CA " + names.peer +
             " trusts, and valid for client authentication? Check " + names.cert_file + " and " +
             names.key_file;
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_RECORD_LENGTH_MISMATCH:
      return "TLS: " + names.peer + " does not speak TLS at this address " + names.plain_http_hint;
    default:
      return "TLS handshake failed: " + ec.message();
  }
}

}  // namespace registrar::registry::http
