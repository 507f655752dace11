#include "status/request_policy.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace registrar::status {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trimmed(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// The host part of a Host header, without brackets or port; "" when malformed.
std::string host_part(const std::string& host) {
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    if (close == std::string::npos) return "";
    const std::string rest = host.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return "";
    return host.substr(1, close - 1);
  }
  const auto colon = host.find(':');
  // A bare IPv6 address ("::1", as some clients send it) has several colons.
  if (colon != std::string::npos && host.find(':', colon + 1) != std::string::npos) return host;
  return host.substr(0, colon);
}

}  // namespace

bool host_accepted(const std::string& host, bool any_ip) {
  const std::string name = lower(host_part(trimmed(host)));
  if (name.empty() || name.find('\0') != std::string::npos) return false;
  if (name == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, name.c_str(), &v4) == 1)
    return any_ip || (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, name.c_str(), &v6) == 1)
    return any_ip || IN6_IS_ADDR_LOOPBACK(&v6) ||
           (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  return false;  // a DNS name: what a DNS-rebinding page would send
}

std::optional<PolicyRefusal> refuse(const RequestHeaders& h, const RequestPolicy& policy) {
  if (!h.transfer_encoding.empty()) {
    if (lower(trimmed(h.transfer_encoding)) != "chunked")
      return PolicyRefusal{501, "Transfer-Encoding \"" + h.transfer_encoding +
                                    "\" is not implemented (only chunked is)"};
    if (h.has_content_length)
      return PolicyRefusal{400, "both Transfer-Encoding and Content-Length"};
  }
  if (!h.origin.empty() || h.has_sec_fetch)
    return PolicyRefusal{403, "requests from web browsers are refused (Origin or Sec-Fetch-*)"};
  if (!policy.control_socket && !host_accepted(h.host, policy.any_ip_host))
    return PolicyRefusal{421, "Host \"" + h.host + "\" is not accepted: use " +
                                  (policy.any_ip_host ? "an IP address" : "a loopback address") +
                                  " or localhost"};
  if (h.has_body) {
    const std::string type = lower(trimmed(h.content_type.substr(0, h.content_type.find(';'))));
    if (type != "application/json")
      return PolicyRefusal{415, "a request body must be application/json"};
  }
  return std::nullopt;
}

}  // namespace registrar::status
