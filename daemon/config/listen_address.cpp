#include "config/listen_address.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace registrar::config {

namespace {

// inet_pton reads a C string: a NUL byte would hide whatever follows it ("::1\0garbage").
bool is_ipv4(const std::string& s) {
  in_addr a{};
  return s.find('\0') == std::string::npos && ::inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s) {
  in6_addr a{};
  return s.find('\0') == std::string::npos && ::inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

}  // namespace

std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string& why) {
  const std::string example = " (e.g. 127.0.0.1:9901 or [::1]:9901)";
  std::string host;
  std::string_view port_text;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      why = "expected [IPv6]:port, got \"" + std::string(text) + "\"" + example;
      return std::nullopt;
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
    if (!is_ipv6(host)) {
      why = "\"" + host + "\" is not an IPv6 address" + example;
      return std::nullopt;
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      why = "expected host:port, got \"" + std::string(text) + "\"" + example;
      return std::nullopt;
    }
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (host == "localhost") host = "127.0.0.1";
    if (host.find(':') != std::string::npos) {
      why = "an IPv6 address needs brackets, got \"" + std::string(text) + "\"" + example;
      return std::nullopt;
    }
    if (!is_ipv4(host)) {
      why = "\"" + host + "\" is not an IP address (hostnames other than localhost are not " +
            "accepted)" + example;
      return std::nullopt;
    }
  }
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || ptr != port_text.data() + port_text.size() ||
      port > 65535) {
    why = "invalid port \"" + std::string(port_text) + "\" (0-65535; 0 picks a free port)";
    return std::nullopt;
  }
  return ListenAddress{host, static_cast<std::uint16_t>(port)};
}

std::string to_string(const ListenAddress& a) {
  const std::string host = a.host.find(':') != std::string::npos ? "[" + a.host + "]" : a.host;
  return host + ":" + std::to_string(a.port);
}

ListenAddress connect_address(const ListenAddress& a) {
  ListenAddress out = a;
  if (a.host == "0.0.0.0") out.host = "127.0.0.1";
  if (a.host == "::") out.host = "::1";
  return out;
}

}  // namespace registrar::config
