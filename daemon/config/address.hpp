// Host and host:port syntax: service addresses, probe targets, etcd endpoints.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace registrar::config {

// True for an IPv6 literal without brackets, optionally with a zone ("fe80::1%eth0").
bool is_ipv6_literal(std::string_view host);

// Why `host` cannot be dialled, or "" when it is a valid hostname, IPv4 or (unbracketed) IPv6
// address. Unspecified addresses (0.0.0.0, ::) are refused: they are listen addresses.
std::string host_error(std::string_view host);

// "host:port", or "[host]:port" for IPv6.
std::string join_host_port(std::string_view host, std::uint16_t port);

// Normalises an etcd endpoint to "host:port" ("[v6]:port"): accepts "host:port" and
// "http://host:port" (scheme and one trailing '/' stripped); refuses https:// (TLS is not
// supported yet), other schemes, a missing or bad port and a bad host. On failure returns
// nullopt and sets `why`.
std::optional<std::string> normalize_etcd_endpoint(std::string_view text, std::string& why);

// Normalises a Consul agent address, in the forms Consul's own tools accept in
// CONSUL_HTTP_ADDR: "host:port" and "http://host:port" give "host:port" ("[v6]:port");
// "unix:///absolute/path" stays as it is. https:// is refused (TLS to the agent is not supported
// yet), and so are other schemes, a missing or bad port, a bad host, a wildcard host and a
// relative socket path. On failure returns nullopt and sets `why`.
// Which scheme an agent address named: none ("host:port"), http:// or https://.
enum class AddressScheme { None, Http, Https };
std::optional<std::string> normalize_consul_address(std::string_view text, std::string& why,
                                                    AddressScheme* scheme = nullptr);

}  // namespace registrar::config
