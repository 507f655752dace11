// Listen addresses for the daemon's own servers (status.listen, --status-listen).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace registrar::config {

struct ListenAddress {
  std::string host;  // an IP literal, IPv6 without brackets
  std::uint16_t port = 0;
};

// Parses "IPv4:port", "[IPv6]:port" or "localhost:port" (meaning 127.0.0.1). Port 0 asks the
// kernel for a free port. Hostnames other than localhost are refused: a listen address must not
// depend on DNS. On failure returns nullopt and sets `why`.
std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string& why);

// "host:port", "[v6]:port".
std::string to_string(const ListenAddress& a);

// The address to connect to in order to reach a server listening on `a`: the wildcard
// addresses (0.0.0.0, ::) become the loopback address of their family.
ListenAddress connect_address(const ListenAddress& a);

}  // namespace registrar::config
