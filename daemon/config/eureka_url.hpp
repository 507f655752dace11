// One Eureka server URL of registry.eureka.urls ("http://host:8761/eureka",
// "https://[v6]:8443/eureka/v2"): its scheme, where to connect and the API's base path.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace registrar::config {

struct EurekaServer {
  std::string url;      // normalised: scheme://host:port/path, no trailing '/'
  std::string address;  // "host:port" ("[v6]:port"), what the HTTP client dials
  std::string host;     // without brackets, for TLS name checks
  std::string path;     // "/eureka", "/eureka/v2" or "" (the API at the root); no trailing '/'
  bool https = false;
  friend bool operator==(const EurekaServer&, const EurekaServer&) = default;
};

// Parses an http:// or https:// URL (port 80/443 when absent). Refuses other schemes, user
// information (credentials belong in username/password_file, never in a URL), a query or
// fragment, and a bad host or port. On failure returns nullopt and sets `why`.
std::optional<EurekaServer> parse_eureka_url(std::string_view text, std::string& why);

}  // namespace registrar::config
