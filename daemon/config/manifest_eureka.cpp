// The `registry.eureka` section: the servers, the lease and its heartbeats, basic auth and TLS;
// and what Eureka accepts in a service's meta.
#include <array>
#include <chrono>
#include <string_view>

#include "config/duration.hpp"
#include "config/error.hpp"
#include "config/eureka_limits.hpp"
#include "config/manifest_sections.hpp"

namespace registrar::config {
namespace {

using namespace std::chrono_literals;

constexpr std::array<std::string_view, 7> kEurekaKeys{
    "urls", "renewal_interval", "lease_duration", "request_timeout", "username", "password_file",
    "tls"};

constexpr DurationRange kRenewalIntervalRange{1s, 1h};
constexpr DurationRange kLeaseDurationRange{2s, 24h};
constexpr DurationRange kEurekaRequestTimeoutRange{10ms, 10min};

std::vector<EurekaServer> eureka_servers(const Reader& r, const Value& v) {
  std::vector<EurekaServer> out;
  std::vector<Value> items = r.items(v);
  if (items.empty()) r.fail(v, "needs at least one server URL, e.g. [http://eureka:8761/eureka]");
  for (const Value& item : items) {
    std::string why;
    std::optional<EurekaServer> server = parse_eureka_url(r.text(item), why);
    if (!server) r.fail(item, why);
    for (const EurekaServer& seen : out) {
      if (seen.url == server->url) r.fail(item, "duplicate URL " + quoted(server->url));
    }
    out.push_back(*server);
  }
  return out;
}

// renewal_interval, lease_duration, request_timeout and how they must relate.
void timing(const Reader& r, const Fields& keys, EurekaSpec& e) {
  auto renewal = Reader::find(keys, "renewal_interval");
  auto lease = Reader::find(keys, "lease_duration");
  auto timeout = Reader::find(keys, "request_timeout");
  if (renewal) e.renewal_interval = r.bounded_duration(*renewal, kRenewalIntervalRange);
  if (lease) {
    e.lease_duration = r.bounded_duration(*lease, kLeaseDurationRange);
    if (e.lease_duration % 1000ms != 0ms) {
      r.fail(*lease, "must be whole seconds (Eureka's leaseInfo.durationInSecs), got " +
                         format_duration(e.lease_duration));
    }
  }
  if (timeout) e.request_timeout = r.bounded_duration(*timeout, kEurekaRequestTimeoutRange);
  // One lost heartbeat must not let the lease expire: the next one, and its retries, still
  // fall within the lease.
  if (e.lease_duration < 2 * e.renewal_interval) {
    std::string message = "lease_duration (" + format_duration(e.lease_duration) +
                          ") must be at least twice renewal_interval (" +
                          format_duration(e.renewal_interval) +
                          "), so that one lost heartbeat cannot let the lease expire";
    r.fail(lease ? *lease : *renewal, message);
  }
  if (e.request_timeout > e.renewal_interval / 2) {
    std::string message = "request_timeout (" + format_duration(e.request_timeout) +
                          ") must be at most half of renewal_interval (" +
                          format_duration(e.renewal_interval) +
                          "), so that a slow server cannot delay the next heartbeat";
    r.fail(timeout ? *timeout : *renewal, message);
  }
}

// username and password_file, or the password from $EUREKA_PASSWORD when this backend is used.
void authentication(const Reader& r, const Fields& keys, bool in_use, EurekaSpec& e) {
  auto user = Reader::find(keys, "username");
  if (user) {
    e.username = r.text(*user);
    if (e.username.empty()) r.fail(*user, "must not be empty (leave it out for no authentication)");
    r.no_control_characters(*user, e.username);
    if (e.username.find(':') != std::string::npos) {
      r.fail(*user, "must not contain ':' (HTTP basic auth separates user and password with it)");
    }
  }
  const std::string variable(kEurekaPasswordVariable);
  if (auto f = Reader::find(keys, "password_file")) {
    if (!user) r.fail(*f, "needs username as well");
    e.password_file = r.text(*f);
    if (e.password_file.empty()) r.fail(*f, "must not be empty");
    e.password_source = "registry.eureka.password_file (" + e.password_file + ")";
  } else if (user && in_use) {
    std::optional<std::string> pw = r.env()(variable);
    if (!pw || pw->empty()) {
      r.fail(*user, "needs a password: set registry.eureka.password_file (or $" + variable + ")");
    }
    r.no_control_characters(
        *user, *pw, variable + " must not contain control characters (the value is not shown)");
    e.password = *pw;
    e.password_source = variable;
  }
}

bool is_xml_name_char(char c, bool first) {
  bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
  return letter || (!first && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
}

}  // namespace

EurekaSpec read_eureka(const Reader& r, const Value& v, bool in_use) {
  static const std::map<std::string_view, std::string> special{
      {"password",
       "a password is never written in the manifest: use password_file (or $EUREKA_PASSWORD)"}};
  auto keys = r.fields(v, kEurekaKeys, special);
  EurekaSpec e;
  if (auto u = Reader::find(keys, "urls")) e.servers = eureka_servers(r, *u);
  timing(r, keys, e);
  authentication(r, keys, in_use, e);
  if (auto t = Reader::find(keys, "tls")) {
    e.tls = read_tls(r, *t, /*consul=*/false);
    for (const EurekaServer& s : e.servers) {
      if (e.tls.enabled && !s.https) {
        r.fail(*t, "TLS is on here but " + quoted(s.url) + " is http:// (use https://)");
      }
    }
  }
  for (const EurekaServer& s : e.servers) e.tls.enabled = e.tls.enabled || s.https;
  return e;
}

void check_eureka_services(const Manifest& m) {
  for (std::size_t i = 0; i < m.services.size(); ++i) {
    const ServiceSpec& s = m.services[i];
    const std::string where = "services[" + std::to_string(i) + "].meta";
    for (const auto& [key, value] : s.meta) {
      if (key == kEurekaGrpcPortKey) {
        throw ConfigError(
            s.location, where,
            "key " + quoted(key) + " is reserved: grpc-registrar sets it to the service's port");
      }
      bool ok = !key.empty();
      for (std::size_t k = 0; k < key.size(); ++k) ok = ok && is_xml_name_char(key[k], k == 0);
      if (!ok) {
        throw ConfigError(s.location, where,
                          "key " + quoted(key) +
                              " is not allowed by Eureka (registry.kind is eureka): metadata keys "
                              "are XML element names, a letter or '_' then letters, digits, "
                              "'_', '-' or '.'");
      }
    }
  }
}

}  // namespace registrar::config
