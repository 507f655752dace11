// The `registry.consul` section, Consul's environment variables for what it leaves out, HTTPS
// to the agent, and what Consul accepts in a service's meta.
#include <array>
#include <chrono>
#include <string_view>

#include "config/address.hpp"
#include "config/consul_limits.hpp"
#include "config/consul_tls_env.hpp"
#include "config/duration.hpp"
#include "config/manifest_sections.hpp"
#include "config/utf8.hpp"

namespace registrar::config {
namespace {

using namespace std::chrono_literals;

constexpr std::array<std::string_view, 10> kConsulKeys{"address",
                                                       "token",
                                                       "token_file",
                                                       "owner",
                                                       "check_ttl",
                                                       "deregister_critical_after",
                                                       "reconcile_interval",
                                                       "request_timeout",
                                                       "weights",
                                                       "tls"};
constexpr std::array<std::string_view, 2> kWeightsKeys{"passing", "warning"};

constexpr DurationRange kCheckTtlRange{1s, 1h};
// Consul's minimum: it raises anything shorter, so a shorter value would only mislead.
constexpr DurationRange kDeregisterCriticalAfterRange{kConsulMinDeregisterCriticalAfter, 168h};
constexpr DurationRange kReconcileIntervalRange{1s, 24h};  // or 0 (off)
constexpr DurationRange kRequestTimeoutRange{10ms, 10min};

// Which keys of registry.consul the manifest sets (the environment fills in the others).
struct ConsulKeysSet {
  bool address = false;
  bool token = false;
  bool token_file = false;
  AddressScheme scheme = AddressScheme::None;  // of the manifest's address
  std::optional<Value> address_value;
  std::optional<Value> tls;  // the manifest's tls section
};

bool has_control_character(const std::string& s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

ConsulWeights weights(const Reader& r, const Value& v) {
  auto keys = r.fields(v, kWeightsKeys);
  ConsulWeights w;
  if (v.node.IsNull()) r.fail(v, "expected a map with passing and/or warning, e.g. {passing: 10}");
  if (auto p = Reader::find(keys, "passing")) w.passing = static_cast<int>(r.integer(*p, 1, 65535));
  if (auto p = Reader::find(keys, "warning")) w.warning = static_cast<int>(r.integer(*p, 0, 65535));
  return w;
}

// address, tls, token and token_file, owner: where the agent is and who we are to it.
void agent_keys(const Reader& r, const Fields& keys, ConsulSpec& c, ConsulKeysSet& set) {
  if (auto a = Reader::find(keys, "address")) {
    std::string why;
    std::string value = r.text(*a);
    std::optional<std::string> address = normalize_consul_address(value, why, &set.scheme);
    if (!address) r.fail(*a, why);
    c.address = *address;
    set.address = true;
    set.address_value = *a;
  }
  if (auto t = Reader::find(keys, "tls")) {
    c.tls = read_tls(r, *t, /*consul=*/true);
    set.tls = *t;
  }
  if (auto t = Reader::find(keys, "token")) {
    c.token = r.text(*t);
    // A token is one line: a newline in it would end up in an HTTP header. The value itself is
    // never quoted in a message.
    r.no_control_characters(*t, c.token,
                            "must not contain control characters (the value is not shown)");
    set.token = true;
    if (!c.token.empty()) c.token_source = "registry.consul.token";
  }
  if (auto f = Reader::find(keys, "token_file")) {
    c.token_file = r.text(*f);
    if (c.token_file.empty()) r.fail(*f, "must not be empty (leave it out for no token file)");
    set.token_file = true;
    c.token_source = "registry.consul.token_file (" + c.token_file + ")";
  }
  if (auto o = Reader::find(keys, "owner")) {
    c.owner = r.text(*o);
    if (c.owner.empty()) r.fail(*o, "must not be empty (leave it out for <hostname>:<manifest>)");
    r.no_control_characters(*o, c.owner);
    if (c.owner.size() > kConsulMetaValueMaxLength) {
      r.fail(*o, "must be at most " + std::to_string(kConsulMetaValueMaxLength) +
                     " bytes (it is stored in Consul service metadata)");
    }
  }
}

// How each service's registration and check are kept: check_ttl, deregister_critical_after,
// reconcile_interval, weights, request_timeout.
void check_keys(const Reader& r, const Fields& keys, ConsulSpec& c) {
  std::optional<Value> ttl_value = Reader::find(keys, "check_ttl");
  if (ttl_value) c.check_ttl = r.bounded_duration(*ttl_value, kCheckTtlRange);
  if (auto d = Reader::find(keys, "deregister_critical_after")) {
    c.deregister_critical_after =
        r.bounded_duration(*d, kDeregisterCriticalAfterRange, "Consul's minimum");
  }
  if (auto i = Reader::find(keys, "reconcile_interval")) {
    c.reconcile_interval = r.duration_or_off(*i, kReconcileIntervalRange);
  }
  if (auto w = Reader::find(keys, "weights")) c.weights = weights(r, *w);
  std::optional<Value> timeout_value = Reader::find(keys, "request_timeout");
  if (timeout_value) c.request_timeout = r.bounded_duration(*timeout_value, kRequestTimeoutRange);
  // One slow request must not let a check's TTL expire: refreshes run every TTL/3.
  if (c.request_timeout > c.check_ttl / 2) {
    std::string message = "request_timeout (" + format_duration(c.request_timeout) +
                          ") must be at most half of check_ttl (" + format_duration(c.check_ttl) +
                          "), so that one slow request cannot let a check expire";
    if (timeout_value) r.fail(*timeout_value, message);
    r.fail(*ttl_value, message);
  }
}

// The variables Consul's own tools honour, for the keys the manifest leaves out.
void consul_env(const Reader& r, ConsulSpec& c, ConsulKeysSet& set, const Value& at) {
  auto env = [&r](const char* name) -> std::optional<std::string> {
    std::optional<std::string> value = r.env()(name);
    if (value && value->empty()) return std::nullopt;  // as Consul: empty means unset
    return value;
  };
  if (!set.address) {
    if (auto a = env("CONSUL_HTTP_ADDR")) {
      if (!is_valid_utf8(*a)) {
        r.fail(at.mark, "registry.consul.address", "CONSUL_HTTP_ADDR is not valid UTF-8");
      }
      std::string why;
      std::optional<std::string> address = normalize_consul_address(*a, why, &set.scheme);
      if (!address) r.fail(at.mark, "registry.consul.address", why + " (from CONSUL_HTTP_ADDR)");
      c.address = *address;
      c.address_source = "CONSUL_HTTP_ADDR";
    }
  }
  if (set.token || set.token_file) return;
  if (auto t = env("CONSUL_HTTP_TOKEN")) {
    if (has_control_character(*t)) {
      r.fail(at.mark, "registry.consul.token",
             "CONSUL_HTTP_TOKEN must not contain control characters (the value is not shown)");
    }
    c.token = *t;
    c.token_source = "CONSUL_HTTP_TOKEN";
  }
  if (auto f = env("CONSUL_HTTP_TOKEN_FILE")) {
    c.token_file = *f;
    c.token_source = "CONSUL_HTTP_TOKEN_FILE (" + *f + ")";
  }
}

// Whether the agent is reached over HTTPS, and with which files: the manifest's tls section and
// address scheme first, then Consul's own variables for what the manifest leaves out.
void consul_tls(const Reader& r, ConsulSpec& c, ConsulKeysSet& set, const Value& at) {
  std::string env_error;
  auto check_env = [&] {
    if (!env_error.empty()) r.fail(at.mark, "registry.consul.tls", env_error);
  };
  const bool unix_socket = c.address.rfind("unix://", 0) == 0;
  if (set.tls) {
    // The section decides; an explicit http:// address contradicts an enabled section.
    if (c.tls.enabled && set.scheme == AddressScheme::Http) {
      const Value& where = set.address_value ? *set.address_value : *set.tls;
      r.fail(where.mark, "registry.consul.address",
             "http:// contradicts registry.consul.tls (use https:// or host:port)");
    }
    if (!c.tls.enabled && set.scheme == AddressScheme::Https) {
      r.fail(set.tls->mark, "registry.consul.tls",
             "TLS is turned off here but the address says https://");
    }
  } else if (set.scheme != AddressScheme::None) {
    c.tls.enabled = set.scheme == AddressScheme::Https;
  } else if (auto ssl = consul_bool_variable("CONSUL_HTTP_SSL", r.env(), env_error)) {
    c.tls.enabled = *ssl;
  }
  check_env();
  if (!c.tls.enabled) return;
  if (unix_socket) {
    const Value& where = set.tls ? *set.tls : at;
    r.fail(where.mark, "registry.consul.tls", "TLS over a unix socket is not supported");
  }
  const bool skip_set = set.tls && set.tls->node.IsMap() && set.tls->node["insecure_skip_verify"];
  fill_consul_tls_from_env(c.tls, skip_set, r.env(), env_error);
  check_env();
  if (c.tls.cert_file.empty() != c.tls.key_file.empty()) {
    r.fail((set.tls ? *set.tls : at).mark, "registry.consul.tls",
           "a client certificate needs both cert_file and key_file (or CONSUL_CLIENT_CERT and "
           "CONSUL_CLIENT_KEY)");
  }
}

bool is_consul_meta_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

ConsulSpec read_consul(const Reader& r, const std::optional<Value>& section,
                       const std::optional<Value>& kind, bool in_use) {
  ConsulSpec c;
  ConsulKeysSet set;
  if (section) {
    auto keys = r.fields(*section, kConsulKeys);
    agent_keys(r, keys, c, set);
    check_keys(r, keys, c);
  }
  if (in_use) {
    const Value& at = section ? *section : *kind;
    consul_env(r, c, set, at);
    consul_tls(r, c, set, at);
  }
  return c;
}

void check_consul_meta(const Reader& r, const YAML::Node& key, const std::string& map_path,
                       const Value& item, const std::map<std::string, std::string>& so_far) {
  const std::string& k = key.Scalar();
  bool ok = k.size() <= kConsulMetaKeyMaxLength;
  for (char c : k) ok = ok && is_consul_meta_key_char(c);
  if (!ok) {
    r.fail(key.Mark(), map_path,
           "key " + quoted(k) +
               " is not allowed by Consul (registry.kind is consul): use at most " +
               std::to_string(kConsulMetaKeyMaxLength) + " letters, digits, '-' and '_'");
  }
  if (k.starts_with(kConsulReservedMetaPrefix)) {
    r.fail(key.Mark(), map_path,
           "key " + quoted(k) + " is not allowed by Consul: the prefix " +
               quoted(kConsulReservedMetaPrefix) + " is reserved");
  }
  for (std::string_view reserved : kConsulReservedMetaKeys) {
    if (k == reserved) {
      r.fail(key.Mark(), map_path,
             "key " + quoted(k) + " is reserved: grpc-registrar marks its Consul services with it");
    }
  }
  if (so_far.at(k).size() > kConsulMetaValueMaxLength) {
    r.fail(item, "value is longer than Consul allows (" +
                     std::to_string(kConsulMetaValueMaxLength) + " bytes)");
  }
  if (so_far.size() > kConsulMaxManifestMetaPairs) {
    r.fail(key.Mark(), item.path,
           "too many keys for Consul: at most " + std::to_string(kConsulMaxManifestMetaPairs) +
               " (Consul allows " + std::to_string(kConsulMaxMetaPairs) + ", grpc-registrar uses " +
               std::to_string(kConsulReservedMetaKeys.size()) + ")");
  }
}

}  // namespace registrar::config
