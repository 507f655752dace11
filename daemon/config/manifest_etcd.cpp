// The `registry.etcd` section: endpoints, key prefix and format, lease and timing, ownership,
// TLS and authentication.
#include <array>
#include <chrono>
#include <string_view>

#include "config/address.hpp"
#include "config/duration.hpp"
#include "config/etcd_keepalive.hpp"
#include "config/manifest_sections.hpp"

namespace registrar::config {
namespace {

using namespace std::chrono_literals;

constexpr std::array<std::string_view, 12> kEtcdKeys{"endpoints",      "prefix",
                                                     "format",         "lease_ttl",
                                                     "dial_timeout",   "resync_interval",
                                                     "keepalive_time", "keepalive_timeout",
                                                     "owner",          "tls",
                                                     "username",       "password_file"};

// Each range keeps the value in the range its consumer can handle: the etcd client converts
// dial_timeout to int milliseconds, etcd refuses very long lease TTLs (OUT_OF_RANGE, which the
// daemon would retry forever), and timers should not be armed for years.
constexpr DurationRange kDialTimeoutRange{10ms, 10min};
constexpr DurationRange kLeaseTtlRange{2s, 24h};
constexpr DurationRange kResyncIntervalRange{1s, 24h};  // or 0 (off)
// etcd answers pings more frequent than its --grpc-keepalive-min-time (default 5s) with GOAWAY
// too_many_pings. The timeout is also the socket's TCP_USER_TIMEOUT (int milliseconds).
constexpr DurationRange kKeepaliveTimeRange{5s, 2h};
constexpr DurationRange kKeepaliveTimeoutRange{1s, 10min};

std::string endpoint(const Reader& r, const Value& v, std::string_view text_value) {
  std::string why;
  std::optional<std::string> ep = normalize_etcd_endpoint(text_value, why);
  if (!ep) r.fail(v, why);
  return *ep;
}

// A list of endpoints, or one string (comma-separated endpoints allowed, for ${VAR}).
std::vector<std::string> endpoints(const Reader& r, const Value& v) {
  std::vector<std::string> out;
  if (v.node.IsScalar()) {
    std::string s = r.text(v);
    std::size_t start = 0;
    while (true) {
      std::size_t comma = s.find(',', start);
      std::string part = s.substr(start, comma == std::string::npos ? comma : comma - start);
      while (!part.empty() && part.front() == ' ') part.erase(0, 1);
      while (!part.empty() && part.back() == ' ') part.pop_back();
      if (!part.empty()) out.push_back(endpoint(r, v, part));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else {
    for (const Value& item : r.items(v)) out.push_back(endpoint(r, item, r.text(item)));
  }
  if (out.empty()) r.fail(v, "at least one endpoint is required");
  return out;
}

std::string prefix(const Reader& r, const Value& v) {
  std::string p = r.text(v);
  if (p.empty() || p.front() != '/') r.fail(v, "must start with \"/\", got " + r.shown(v, p));
  if (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p == "/") r.fail(v, "must name at least one path segment, e.g. /services");
  if (p.find("//") != std::string::npos || p.back() == '/') {
    r.fail(v, "must not contain empty path segments, got " + r.shown(v, r.text(v)));
  }
  return p;
}

Duration lease_ttl(const Reader& r, const Value& v) {
  Duration ttl = r.duration(v);
  if (ttl.count() % 1000 != 0) r.fail(v, "must be whole seconds, got " + format_duration(ttl));
  if (ttl < kLeaseTtlRange.min || ttl > kLeaseTtlRange.max) {
    r.fail(v, range_message(kLeaseTtlRange, ttl, "etcd's minimum lease TTL"));
  }
  return ttl;
}

// username and password_file, or the password from $ETCDCTL_PASSWORD when this backend is used.
void authentication(const Reader& r, const Fields& keys, bool in_use, EtcdSpec& e) {
  auto user = Reader::find(keys, "username");
  if (user) {
    e.username = r.text(*user);
    if (e.username.empty()) r.fail(*user, "must not be empty (leave it out for no authentication)");
    r.no_control_characters(*user, e.username);
  }
  if (auto f = Reader::find(keys, "password_file")) {
    if (!user) r.fail(*f, "needs username as well");
    e.password_file = r.text(*f);
    if (e.password_file.empty()) r.fail(*f, "must not be empty");
    e.password_source = "registry.etcd.password_file (" + e.password_file + ")";
  } else if (user && in_use) {
    std::optional<std::string> pw = r.env()("ETCDCTL_PASSWORD");
    if (!pw || pw->empty()) {
      r.fail(*user, "needs a password: set registry.etcd.password_file (or $ETCDCTL_PASSWORD)");
    }
    r.no_control_characters(
        *user, *pw,
        "ETCDCTL_PASSWORD must not contain control characters (the value is not shown)");
    e.password = *pw;
    e.password_source = "ETCDCTL_PASSWORD";
  }
}

}  // namespace

EtcdSpec read_etcd(const Reader& r, const Value& v, bool in_use) {
  static const std::map<std::string_view, std::string> special{
      {"password",
       "a password is never written in the manifest: use password_file (or $ETCDCTL_PASSWORD)"}};
  auto keys = r.fields(v, kEtcdKeys, special);
  EtcdSpec e;
  if (auto t = Reader::find(keys, "tls")) e.tls = read_tls(r, *t, /*consul=*/false);
  authentication(r, keys, in_use, e);
  if (auto ep = Reader::find(keys, "endpoints")) e.endpoints = endpoints(r, *ep);
  if (auto p = Reader::find(keys, "prefix")) e.prefix = prefix(r, *p);
  if (auto f = Reader::find(keys, "format")) e.format = r.choice(*f, kEtcdKeyFormatNames);
  if (auto t = Reader::find(keys, "lease_ttl")) e.lease_ttl = lease_ttl(r, *t);
  if (auto t = Reader::find(keys, "dial_timeout")) {
    e.dial_timeout = r.bounded_duration(*t, kDialTimeoutRange);
  }
  if (auto t = Reader::find(keys, "resync_interval")) {
    e.resync_interval = r.duration_or_off(*t, kResyncIntervalRange);
  }
  if (auto t = Reader::find(keys, "keepalive_time")) {
    e.keepalive_time = r.bounded_duration(*t, kKeepaliveTimeRange);
  }
  if (auto t = Reader::find(keys, "keepalive_timeout")) {
    e.keepalive_timeout = r.bounded_duration(*t, kKeepaliveTimeoutRange);
  } else {
    e.keepalive_timeout = keepalive_timeout_of(e);
  }
  if (auto o = Reader::find(keys, "owner")) {
    e.owner = r.text(*o);
    if (e.owner.empty()) r.fail(*o, "must not be empty (leave it out for <hostname>:<manifest>)");
    r.no_control_characters(*o, e.owner);
  }
  return e;
}

}  // namespace registrar::config
