// Fuzz target "config_helpers": the manifest's small parsers, one per kind (first byte '0'..'6',
// the rest is the text):
//   0 parse_duration: accepted values are within 0..kMaxDuration and format_duration gives them
//     back; refusals say why
//   1 interpolate: throws only InterpolationError; interpolate(escape_interpolation(s)) == s
//   2 normalize_etcd_endpoint, 3 normalize_consul_address: normalising twice changes nothing;
//     the host part is one a client can dial (host_error accepts it); a unix socket path holds
//     no control characters
//   4 host_error: an accepted host has no whitespace or control characters, and host:port made
//     from it normalises to itself
//   5 parse_listen_address: to_string of the result parses back to the same address
//   6 format_duration of a raw 64-bit value in range parses back to that value
#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "config/address.hpp"
#include "config/duration.hpp"
#include "config/interpolate.hpp"
#include "config/listen_address.hpp"
#include "fuzz_support.hpp"

namespace registrar::fuzz {
namespace {

using namespace config;

const EnvLookup& fixed_env() {
  static const EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    static const std::map<std::string, std::string> vars{
        {"A", "1"}, {"EMPTY", ""}, {"DOLLAR", "$"}, {"BRACES", "${A}"}, {"PORT", "50051"}};
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  return env;
}

bool plain(std::string_view host) {
  for (char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  return true;
}

// An IPv6 literal's zone (after '%') is an interface name or number: letters, digits, '.', '_'
// and '-'; and no host holds a NUL byte (inet_pton would stop there). Found by this target:
// regressions/config_helpers/host-*, fixed in daemon/config/address.cpp (is_ipv6_literal).
bool bad_zone(std::string_view host) {
  const auto pct = host.find('%');
  if (host.find(':') == std::string_view::npos) return false;
  if (host.find('\0') != std::string_view::npos) return true;
  if (pct == std::string_view::npos) return false;
  for (char c : host.substr(pct + 1)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return true;
  }
  return false;
}

void duration(std::string_view text) {
  std::string why;
  std::optional<Duration> d = parse_duration(text, why);
  if (!d) {
    check(!why.empty(), "parse_duration refused without a reason");
    return;
  }
  check(d->count() >= 0 && *d <= kMaxDuration, "parse_duration accepted a value out of range");
  check(parse_duration(format_duration(*d)) == d, "format_duration does not parse back");
}

void interpolation(std::string_view text) {
  try {
    (void)interpolate(text, fixed_env());
  } catch (const InterpolationError& e) {
    check(std::strlen(e.what()) > 0, "InterpolationError without a message");
  }
  check(interpolate(escape_interpolation(text), fixed_env()) == text,
        "interpolate(escape_interpolation(s)) != s");
}

// The host of a normalised "host:port" / "[v6]:port".
std::string_view host_of(std::string_view hp) {
  if (hp.starts_with('[')) return hp.substr(1, hp.find(']') - 1);
  return hp.substr(0, hp.rfind(':'));
}

void endpoint(std::string_view text, bool consul) {
  std::string why;
  std::optional<std::string> out =
      consul ? normalize_consul_address(text, why) : normalize_etcd_endpoint(text, why);
  if (!out) {
    check(!why.empty(), "an address was refused without a reason");
    return;
  }
  std::string why2;
  std::optional<std::string> again =
      consul ? normalize_consul_address(*out, why2) : normalize_etcd_endpoint(*out, why2);
  check(again == out, "normalising a normalised address changed it or refused it: " + why2);
  if (consul && out->starts_with("unix://")) {
    // A file name may hold spaces, not control characters (nor NUL, which would cut the path).
    for (char c : *out) {
      const auto u = static_cast<unsigned char>(c);
      check(u >= 0x20 && u != 0x7f, "a unix socket path with control characters was accepted");
    }
    return;
  }
  const std::string_view host = host_of(*out);
  check(!bad_zone(host), "a normalised address has a NUL byte or a bad IPv6 zone");
  check(plain(host), "an address with control characters or spaces was accepted");
  check(host_error(host).empty(), "a normalised address has a host host_error refuses");
}

void host(std::string_view text) {
  if (!host_error(text).empty()) return;
  check(!bad_zone(text), "host_error accepted a NUL byte or a bad IPv6 zone");
  check(plain(text), "host_error accepted a host with control characters or spaces");
  const std::string hp = join_host_port(text, 443);
  std::string why;
  check(normalize_etcd_endpoint(hp, why) == hp,
        "host:port of an accepted host does not normalise to itself: " + why);
}

void listen_address(std::string_view text) {
  std::string why;
  std::optional<ListenAddress> a = parse_listen_address(text, why);
  if (!a) {
    check(!why.empty(), "parse_listen_address refused without a reason");
    return;
  }
  check(!bad_zone(a->host), "a listen address with a NUL byte or a bad IPv6 zone");
  check(plain(a->host), "a listen address with control characters or spaces was accepted");
  std::optional<ListenAddress> b = parse_listen_address(to_string(*a), why);
  check(b && b->host == a->host && b->port == a->port, "to_string(listen address) differs");
  (void)connect_address(*a);
}

void raw_duration(std::string_view bytes) {
  std::uint64_t raw = 0;
  std::memcpy(&raw, bytes.data(), std::min(bytes.size(), sizeof raw));
  const Duration d{
      static_cast<std::int64_t>(raw % (static_cast<std::uint64_t>(kMaxDuration.count()) + 1))};
  check(parse_duration(format_duration(d)) == d, "format_duration(d) does not parse back to d");
}

}  // namespace

int fuzz_config_helpers(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (selector(data[0], 7)) {
    case 0:
      duration(text);
      break;
    case 1:
      interpolation(text);
      break;
    case 2:
      endpoint(text, /*consul=*/false);
      break;
    case 3:
      endpoint(text, /*consul=*/true);
      break;
    case 4:
      host(text);
      break;
    case 5:
      listen_address(text);
      break;
    default:
      raw_duration(text);
      break;
  }
  return 0;
}

}  // namespace registrar::fuzz
