// Parsing of registry.eureka.urls entries.
#include "config/eureka_url.hpp"

#include <charconv>

#include "config/address.hpp"

namespace registrar::config {
namespace {

bool parse_port(std::string_view text, std::uint16_t& port) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < 1 || value > 65535 ||
      (text.size() > 1 && text[0] == '0')) {
    return false;
  }
  port = static_cast<std::uint16_t>(value);
  return true;
}

// Splits "host[:port]" / "[v6][:port]"; returns "" or why not.
std::string split_authority(std::string_view authority, bool https, EurekaServer& out) {
  std::uint16_t port = https ? 443 : 80;
  std::string_view host = authority;
  std::string_view port_text;
  if (authority.starts_with('[')) {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return "unclosed '[' in the host";
    host = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return "unexpected text after ']'";
      port_text = rest.substr(1);
    }
  } else if (std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  }
  if (!port_text.empty() || authority.ends_with(':')) {
    if (!parse_port(port_text, port)) return "bad port \"" + std::string(port_text) + "\"";
  }
  if (host.empty()) return "no host";
  if (std::string why = host_error(host); !why.empty()) return why;
  out.host = std::string(host);
  out.address = join_host_port(host, port);
  return "";
}

}  // namespace

std::optional<EurekaServer> parse_eureka_url(std::string_view text, std::string& why) {
  EurekaServer out;
  std::string_view rest;
  if (text.starts_with("http://")) {
    rest = text.substr(7);
  } else if (text.starts_with("https://")) {
    rest = text.substr(8);
    out.https = true;
  } else {
    why = "expected an http:// or https:// URL such as http://eureka:8761/eureka, got \"" +
          std::string(text) + "\"";
    return std::nullopt;
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    why = "a server URL has no query or fragment";
    return std::nullopt;
  }
  std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    why =
        "credentials do not belong in a URL: use registry.eureka.username and password_file "
        "(or $EUREKA_PASSWORD)";
    return std::nullopt;
  }
  if (std::string e = split_authority(authority, out.https, out); !e.empty()) {
    why = e + " in \"" + std::string(text) + "\"";
    return std::nullopt;
  }
  while (path.ends_with('/')) path.remove_suffix(1);
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      why = "the path must not contain spaces or control characters";
      return std::nullopt;
    }
  }
  out.path = std::string(path);
  out.url = (out.https ? "https://" : "http://") + out.address + out.path;
  return out;
}

}  // namespace registrar::config
