#include "probe/tls_failure.hpp"

#include <array>
#include <string_view>

namespace registrar::probe {

namespace {

bool mentions(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

template <std::size_t N>
bool contains_any(const std::string& text, const std::array<std::string_view, N>& words) {
  for (std::string_view w : words) {
    if (mentions(text, w)) return true;
  }
  return false;
}

std::string file_of(const std::string& setting, const std::string& path) {
  return path.empty() ? setting : setting + " " + path;
}

}  // namespace

std::string connection_error_text(const std::string& grpc_message) {
  constexpr std::string_view kLast = "last error: ";
  const auto at = grpc_message.rfind(kLast);
  if (at == std::string::npos) return grpc_message;
  return grpc_message.substr(at + kLast.size());
}

std::optional<std::string> explain_tls_failure(const grpc::Status& status,
                                               const config::TlsSpec& tls,
                                               const TlsSettingNames& names) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return std::nullopt;
  const std::string& m = status.error_message();
  // gRPC's words when no connection could be made; "Socket closed" in them is a server that
  // closed the connection while it was being set up (before its HTTP/2 settings arrived).
  const bool connecting = mentions(m, "failed to connect to all addresses");
  const bool closed_early = connecting && mentions(m, "Socket closed");
  if (!tls.enabled) {
    if (closed_early) {
      return "the server closed the connection before HTTP/2 started: if it serves TLS, set " +
             names.section;
    }
    return std::nullopt;
  }
  static constexpr std::array<std::string_view, 2> kUntrusted{"certificate verify failed",
                                                              "CERTIFICATE_VERIFY_FAILED"};
  static constexpr std::array<std::string_view, 2> kOtherName{"is not in peer certificate",
                                                              "Peer name"};
  static constexpr std::array<std::string_view, 4> kPlaintext{
      "wrong version number", "WRONG_VERSION_NUMBER", "packet length too long", "http request"};
  static constexpr std::array<std::string_view, 3> kWantsClientCert{
      "certificate required", "CERTIFICATE_REQUIRED", "alert handshake failure"};
  static constexpr std::array<std::string_view, 4> kRefusedClientCert{
      "alert bad certificate", "alert unknown ca", "alert certificate unknown",
      "alert certificate expired"};
  if (contains_any(m, kUntrusted)) {
    return "TLS handshake failed: the server's certificate is not trusted (check " +
           (tls.ca_file.empty() ? names.ca_file + ": none given, the system's roots were used"
                                : file_of(names.ca_file, tls.ca_file)) +
           ")";
  }
  if (contains_any(m, kOtherName)) {
    return "TLS handshake failed: the server's certificate is not for the name dialled (check " +
           (tls.server_name.empty() ? names.server_name
                                    : names.server_name + " \"" + tls.server_name + "\"") +
           ")";
  }
  if (contains_any(m, kPlaintext)) {
    return "TLS handshake failed: the server does not speak TLS (a plaintext server? remove " +
           names.section + ")";
  }
  const std::string client_files = names.cert_file + " and " + names.key_file;
  if (contains_any(m, kWantsClientCert) || (closed_early && tls.cert_file.empty())) {
    return "TLS handshake failed: the server closed the connection; it may require a client "
           "certificate (set " +
           client_files + ")";
  }
  if (contains_any(m, kRefusedClientCert) || closed_early) {
    return "TLS handshake failed: the server closed the connection; it may not accept the client "
           "certificate (check " +
           file_of(names.cert_file, tls.cert_file) + " and the CA the server trusts)";
  }
  if (mentions(m, "andshake") || mentions(m, "SSL")) {
    return "TLS handshake failed (check " + names.section + ")";
  }
  return std::nullopt;
}

}  // namespace registrar::probe
