#include "config/address.hpp"

#include <arpa/inet.h>

#include <array>

namespace registrar::config {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_label_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_';
}

bool parses_as(int family, std::string_view text) {
  std::array<unsigned char, 16> buf{};
  std::string s(text);
  return inet_pton(family, s.c_str(), buf.data()) == 1;
}

std::string_view strip_zone(std::string_view host) {
  return host.substr(0, host.find('%'));
}

bool is_unspecified(std::string_view host) {
  std::array<unsigned char, 16> buf{};
  std::string s(strip_zone(host));
  if (inet_pton(AF_INET, s.c_str(), buf.data()) == 1)
    return buf[0] == 0 && buf[1] == 0 && buf[2] == 0 && buf[3] == 0;
  if (inet_pton(AF_INET6, s.c_str(), buf.data()) == 1) {
    for (unsigned char b : buf) {
      if (b != 0) return false;
    }
    return true;
  }
  return false;
}

// 1..65535, decimal, no sign or leading zeros.
std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5 || text.front() == '0') return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value < 1 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

}  // namespace

// An IPv6 literal, optionally with a zone (`fe80::1%eth0`): the zone is an interface name or
// index, so letters, digits, '.', '-' and '_' only (no NUL, which inet_pton would stop at, no
// spaces, '/', ':' or '%').
bool is_ipv6_literal(std::string_view host) {
  if (host.find(':') == std::string_view::npos) return false;
  if (host.find('\0') != std::string_view::npos) return false;
  std::size_t zone = host.find('%');
  if (zone != std::string_view::npos) {
    std::string_view name = host.substr(zone + 1);
    if (name.empty()) return false;
    for (char c : name) {
      if (!is_label_char(c) && c != '.') return false;
    }
  }
  return parses_as(AF_INET6, strip_zone(host));
}

std::string host_error(std::string_view host) {
  if (host.empty()) return "empty address";
  if (host.front() == '[') {
    return "write IPv6 addresses without brackets (\"" +
           std::string(host.substr(1, host.find(']') - 1)) + "\")";
  }
  if (host.find(':') != std::string_view::npos) {
    if (!is_ipv6_literal(host)) return "\"" + std::string(host) + "\" is not a valid IPv6 address";
  } else {
    bool numeric = true;
    for (char c : host) numeric = numeric && (is_digit(c) || c == '.');
    if (numeric) {
      if (!parses_as(AF_INET, host)) {
        return "\"" + std::string(host) + "\" is not a valid IPv4 address";
      }
    } else {
      std::string_view name = host;
      if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);  // fully qualified
      if (name.size() > 253) return "hostname is longer than 253 characters";
      std::size_t start = 0;
      while (start <= name.size()) {
        std::size_t dot = name.find('.', start);
        std::string_view label = name.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        bool ok =
            !label.empty() && label.size() <= 63 && label.front() != '-' && label.back() != '-';
        for (char c : label) ok = ok && is_label_char(c);
        if (!ok) {
          return "\"" + std::string(host) + "\" is not a valid hostname, IPv4 or IPv6 address";
        }
        if (dot == std::string_view::npos) break;
        start = dot + 1;
      }
    }
  }
  if (is_unspecified(host)) {
    return "\"" + std::string(host) +
           "\" is a wildcard listen address, not one clients can dial; use a concrete address";
  }
  return "";
}

std::string join_host_port(std::string_view host, std::uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos) {
    out = "[" + std::string(host) + "]";
  } else {
    out = std::string(host);
  }
  return out + ":" + std::to_string(port);
}

std::optional<std::string> normalize_etcd_endpoint(std::string_view text, std::string& why) {
  // user:password@host would put a secret in every message that quotes the address.
  if (text.find('@') != std::string_view::npos) {
    why =
        "credentials in an address (user:password@) are not supported and the address is not "
        "shown; use the password_file or token_file settings";
    return std::nullopt;
  }
  std::string_view rest = text;
  std::size_t scheme_end = rest.find("://");
  if (scheme_end != std::string_view::npos) {
    std::string scheme(rest.substr(0, scheme_end));
    for (char& c : scheme) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (scheme == "https") {
      why =
          "use host:port; TLS to etcd is turned on by a registry.etcd.tls section, not by "
          "https://";
      return std::nullopt;
    }
    if (scheme != "http") {
      why = "unsupported scheme \"" + std::string(rest.substr(0, scheme_end)) +
            "://\" (use host:port or http://host:port)";
      return std::nullopt;
    }
    rest.remove_prefix(scheme_end + 3);
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  }
  if (rest.find('/') != std::string_view::npos) {
    why = "\"" + std::string(text) + "\" has a path; expected host:port";
    return std::nullopt;
  }
  std::string_view host;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    std::size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      why = "\"" + std::string(text) + "\" has an unterminated '['";
      return std::nullopt;
    }
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (after.empty() || after.front() != ':') {
      why = "\"" + std::string(text) + "\" has no port; expected host:port, e.g. 127.0.0.1:2379";
      return std::nullopt;
    }
    port = after.substr(1);
    if (!is_ipv6_literal(host)) {
      why = "\"" + std::string(host) + "\" is not a valid IPv6 address";
      return std::nullopt;
    }
  } else {
    std::size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) {
      why = "\"" + std::string(text) + "\" has no port; expected host:port, e.g. 127.0.0.1:2379";
      return std::nullopt;
    }
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      why = "\"" + std::string(text) + "\": put IPv6 addresses in brackets, e.g. [::1]:2379";
      return std::nullopt;
    }
  }
  std::optional<std::uint16_t> port_number = parse_port(port);
  if (!port_number) {
    why =
        "\"" + std::string(text) + "\" has an invalid port \"" + std::string(port) + "\" (1-65535)";
    return std::nullopt;
  }
  if (std::string e = host_error(host); !e.empty()) {
    why = e;
    return std::nullopt;
  }
  return join_host_port(host, *port_number);
}

std::optional<std::string> normalize_consul_address(std::string_view text, std::string& why,
                                                    AddressScheme* scheme_out) {
  constexpr std::string_view kUnix = "unix://";
  if (scheme_out) *scheme_out = AddressScheme::None;
  if (text.size() >= kUnix.size() && text.substr(0, kUnix.size()) == kUnix) {
    std::string_view path = text.substr(kUnix.size());
    if (path.empty() || path.front() != '/') {
      why = "\"" + std::string(text) +
            "\": the socket path must be absolute, e.g. unix:///var/run/consul/http.sock";
      return std::nullopt;
    }
    for (char c : path) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        why = "the socket path must not contain control characters";
        return std::nullopt;
      }
    }
    return std::string(text);
  }
  std::size_t scheme_end = text.find("://");
  if (scheme_end != std::string_view::npos) {
    std::string scheme(text.substr(0, scheme_end));
    for (char& c : scheme) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (scheme != "http" && scheme != "https") {
      why = "unsupported scheme \"" + std::string(text.substr(0, scheme_end)) +
            "://\" (use host:port, http://host:port, https://host:port or unix:///path)";
      return std::nullopt;
    }
    if (scheme_out) *scheme_out = scheme == "https" ? AddressScheme::Https : AddressScheme::Http;
  }
  // host:port validation is the etcd endpoint's, which takes http:// only.
  std::string plain(text);
  if (scheme_end != std::string_view::npos) plain = "http" + plain.substr(scheme_end);
  std::optional<std::string> out = normalize_etcd_endpoint(plain, why);
  if (!out && why.find("e.g. 127.0.0.1:2379") != std::string::npos) {
    why.replace(why.find("127.0.0.1:2379"), 14, "127.0.0.1:8500");
  }
  if (!out && why.find("[::1]:2379") != std::string::npos) {
    why.replace(why.find("[::1]:2379"), 10, "[::1]:8500");
  }
  return out;
}

}  // namespace registrar::config
