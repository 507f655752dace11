#include "registry/etcd/connect_diagnosis.hpp"

namespace registrar::registry::etcd {

namespace {

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

std::string with_path(const std::string& setting, const std::string& path) {
  return path.empty() ? setting : setting + " (" + path + ")";
}

}  // namespace

std::string last_connect_error(std::string_view message) {
  constexpr std::string_view kLast = "last error: ";
  const auto at = message.find(kLast);
  if (at == std::string_view::npos) return std::string(message);
  std::string_view rest = message.substr(at + kLast.size());
  // "UNKNOWN: ipv4:127.0.0.1:2379: reason" -> "reason"
  const auto code_end = rest.find(": ");
  if (code_end != std::string_view::npos) {
    std::string_view after_code = rest.substr(code_end + 2);
    for (std::string_view family : {"ipv4:", "ipv6:", "unix:"}) {
      if (after_code.substr(0, family.size()) == family) {
        const auto addr_end = after_code.find(": ");
        if (addr_end != std::string_view::npos) return std::string(after_code.substr(addr_end + 2));
      }
    }
    return std::string(after_code);
  }
  return std::string(rest);
}

std::string explain_connect_failure(std::string_view message, const std::string& endpoint,
                                    const config::TlsSpec& tls) {
  const std::string reason = last_connect_error(message);
  const std::string grpc = " (gRPC: " + reason + ")";
  const std::string handshake = "TLS handshake with " + endpoint + " failed: ";
  if (contains(reason, "Ssl handshake failed") && contains(reason, "certificate verify failed")) {
    if (tls.ca_file.empty())
      return handshake +
             "etcd's certificate is not signed by a CA among the system's trusted roots; set "
             "registry.etcd.tls.ca_file to the CA that signed it" +
             grpc;
    return handshake + "etcd's certificate is not signed by a CA in " +
           with_path("registry.etcd.tls.ca_file", tls.ca_file) +
           "; check registry.etcd.tls.ca_file" + grpc;
  }
  constexpr std::string_view kPeerName = "Peer name ";
  if (const auto at = reason.find(kPeerName);
      at != std::string::npos && contains(reason, "is not in peer certificate")) {
    const auto name_end = reason.find(' ', at + kPeerName.size());
    const std::string name = reason.substr(at + kPeerName.size(), name_end - at - kPeerName.size());
    if (tls.server_name.empty())
      return handshake + "etcd's certificate does not carry the name " + name +
             "; set registry.etcd.tls.server_name to a name it carries" + grpc;
    return handshake + "etcd's certificate does not carry the name " + name +
           "; check registry.etcd.tls.server_name" + grpc;
  }
  if (contains(reason, "Ssl handshake failed") || contains(reason, "Handshake failed"))
    return handshake + reason + "; check the registry.etcd.tls settings";
  // etcd drops a TLS connection without a word when it refuses the client's certificate (or
  // there is none and it runs with --client-cert-auth); so does a plaintext server. The client
  // only sees the connection close.
  const bool closed = contains(reason, "Endpoint read failed") || contains(reason, "Socket closed");
  if (closed && tls.enabled) {
    if (tls.cert_file.empty())
      return "etcd at " + endpoint +
             " closed the connection during the TLS handshake: if it requires client "
             "certificates (--client-cert-auth), set registry.etcd.tls.cert_file and key_file; "
             "or it does not serve TLS on this port" +
             grpc;
    return "etcd at " + endpoint +
           " closed the connection during the TLS handshake: if it requires client certificates "
           "(--client-cert-auth), it does not accept " +
           with_path("registry.etcd.tls.cert_file", tls.cert_file) +
           " (it must be signed by a CA in etcd's --trusted-ca-file and allow clientAuth); or "
           "it does not serve TLS on this port" +
           grpc;
  }
  // A TLS listener drops a plaintext HTTP/2 preface at once: gRPC says "Socket closed" (measured
  // against etcd 3.4). "Endpoint read failed" is also what a reset mid-call looks like: no hint.
  if (!tls.enabled && contains(reason, "Socket closed"))
    return "etcd at " + endpoint +
           " closed the connection: if it serves TLS (https:// client URLs), add a "
           "registry.etcd.tls section" +
           grpc;
  return std::string(message);
}

}  // namespace registrar::registry::etcd
