#include "config/manifest_parser.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "config/address.hpp"
#include "config/consul_tls_env.hpp"
#include "config/duration.hpp"
#include "config/effective.hpp"
#include "config/enums.hpp"
#include "config/listen_address.hpp"
#include "config/suggest.hpp"
#include "config/utf8.hpp"
#include "config/yaml_document.hpp"

namespace registrar::config {
namespace {

using Keys = std::span<const std::string_view>;

using namespace std::chrono_literals;

// Allowed ranges of durations, inclusive. Each keeps the value in the range its consumer can
// handle: the etcd client converts dial_timeout to int milliseconds, etcd refuses very long
// lease TTLs (OUT_OF_RANGE, which the daemon would retry forever), and timers should not be
// armed for years.
struct DurationRange {
  Duration min;
  Duration max;
};
constexpr DurationRange kDialTimeoutRange{10ms, 10min};
constexpr DurationRange kLeaseTtlRange{2s, 24h};
constexpr DurationRange kResyncIntervalRange{1s, 24h};  // or 0 (off)
constexpr DurationRange kBackoffRange{1ms, 1h};
constexpr DurationRange kProbeRange{10ms, 1h};
constexpr DurationRange kDrainRange{0ms, 1h};
constexpr DurationRange kShutdownTimeoutRange{100ms, 10min};
constexpr DurationRange kCheckTtlRange{1s, 1h};
// Consul's minimum: it raises anything shorter to 1m, so a shorter value would only mislead.
constexpr DurationRange kDeregisterCriticalAfterRange{1min, 168h};
constexpr DurationRange kReconcileIntervalRange{1s, 24h};  // or 0 (off)
constexpr DurationRange kRequestTimeoutRange{10ms, 10min};

// Consul's limits on service metadata (structs.ValidateServiceMetadata in Consul's source).
constexpr std::size_t kConsulMaxMetaPairs = 64;
constexpr std::size_t kConsulMetaKeyMaxLength = 128;
constexpr std::size_t kConsulMetaValueMaxLength = 512;

constexpr std::array<std::string_view, 6> kRootKeys{"registry", "defaults",         "services",
                                                    "drain",    "shutdown_timeout", "status"};
constexpr std::array<std::string_view, 1> kStatusKeys{"listen"};
constexpr std::array<std::string_view, 4> kRegistryKeys{"kind", "etcd", "consul", "backoff"};
constexpr std::array<std::string_view, 10> kEtcdKeys{
    "endpoints",       "prefix", "format", "lease_ttl", "dial_timeout",
    "resync_interval", "owner",  "tls",    "username",  "password_file"};
// TLS of a gRPC connection (etcd, probes); registry.consul.tls also has insecure_skip_verify.
constexpr std::array<std::string_view, 5> kGrpcTlsKeys{"enabled", "ca_file", "cert_file",
                                                       "key_file", "server_name"};
constexpr std::array<std::string_view, 6> kConsulTlsKeys{
    "enabled", "ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"};
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
constexpr std::array<std::string_view, 4> kBackoffKeys{"initial", "max", "multiplier", "jitter"};
constexpr std::array<std::string_view, 1> kDefaultsKeys{"probe"};
constexpr std::array<std::string_view, 6> kDefaultProbeKeys{"mode", "interval", "timeout",
                                                            "rise", "fall",     "tls"};
constexpr std::array<std::string_view, 8> kServiceProbeKeys{"mode", "interval", "timeout", "rise",
                                                            "fall", "target",   "service", "tls"};
constexpr std::array<std::string_view, 7> kServiceKeys{"name", "id",   "address", "port",
                                                       "tags", "meta", "probe"};

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

std::string join_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return quoted(node.Scalar());
    default:
      return "an empty value";
  }
}

// A node with the path that names it in messages and the position to report for it. Null
// values in maps carry the position of their key: yaml-cpp places them at the next token.
struct Value {
  YAML::Node node;
  std::string path;
  YAML::Mark mark;
};

class Parser {
 public:
  Parser(std::string source, const EnvLookup& env) : source_(std::move(source)), env_(env) {}

  Manifest parse(std::string_view yaml) {
    YAML::Node doc;
    try {
      doc = load_one_document(yaml);
    } catch (const YamlDocumentError& e) {
      fail(e.mark, "", e.message);
    }
    if (!doc.IsDefined() || doc.IsNull()) {
      throw ConfigError(Location{source_, 0, 0}, "", "the manifest is empty");
    }
    Value root{doc, "", doc.Mark()};
    if (!root.node.IsMap()) {
      fail(root.mark, "",
           "the manifest must be a map with keys registry, defaults and services, got " +
               describe(root.node));
    }

    Manifest m;
    m.source = source_;
    auto keys = fields(root, kRootKeys);
    if (auto v = find(keys, "registry")) m.registry = registry(*v);
    consul_ = m.registry.kind == RegistryKind::Consul;
    if (auto v = find(keys, "defaults")) m.default_probe = defaults(*v);
    if (auto v = find(keys, "services")) {
      m.services = services(*v, m.default_probe);
      check_address_keys(m);
    }
    if (auto v = find(keys, "drain")) m.drain = bounded_duration(*v, kDrainRange);
    if (auto v = find(keys, "status")) m.status = status(*v);
    if (auto v = find(keys, "shutdown_timeout")) {
      m.shutdown_timeout = bounded_duration(*v, kShutdownTimeoutRange);
    }
    return m;
  }

 private:
  // ---- errors

  Location location(const YAML::Mark& mark) const {
    if (mark.is_null()) return Location{source_, 0, 0};
    return Location{source_, mark.line + 1, mark.column + 1};
  }

  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& field,
                         const std::string& message) const {
    throw ConfigError(location(mark), field, message);
  }
  [[noreturn]] void fail(const Value& v, const std::string& message) const {
    fail(v.mark, v.path, message);
  }

  // ---- maps

  // The keys of a map, in document order, after refusing non-string, duplicate and unknown
  // keys. A null value (an empty section) counts as an empty map.
  std::vector<std::pair<std::string, Value>> fields(
      const Value& v, Keys allowed,
      const std::map<std::string_view, std::string>& special = {}) const {
    std::vector<std::pair<std::string, Value>> out;
    if (v.node.IsNull()) return out;
    if (!v.node.IsMap()) fail(v, "expected a map, got " + describe(v.node));
    std::map<std::string, int> seen;  // key -> line
    for (auto it = v.node.begin(); it != v.node.end(); ++it) {
      // Copies: yaml-cpp's iterator hands out a temporary pair.
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) fail(key.Mark(), v.path, "keys must be strings, got " + describe(key));
      const std::string& name = key.Scalar();
      std::string path = join_path(v.path, name);
      if (auto s = special.find(name); s != special.end()) fail(key.Mark(), path, s->second);
      bool known = false;
      for (std::string_view a : allowed) known = known || a == name;
      if (!known) {
        std::string message = "unknown key " + quoted(name);
        if (auto close = closest_match(name, allowed)) {
          message += "; did you mean " + quoted(*close) + "?";
        } else {
          message += " (allowed: " + join_names(allowed) + ")";
        }
        fail(key.Mark(), path, message);
      }
      if (auto [first, inserted] = seen.emplace(name, key.Mark().line + 1); !inserted) {
        fail(key.Mark(), path,
             "duplicate key " + quoted(name) + " (first set at line " +
                 std::to_string(first->second) + ")");
      }
      YAML::Mark mark = value.IsNull() || value.Mark().is_null() ? key.Mark() : value.Mark();
      out.emplace_back(name, Value{value, path, mark});
    }
    return out;
  }

  static std::optional<Value> find(const std::vector<std::pair<std::string, Value>>& keys,
                                   std::string_view name) {
    for (const auto& [k, v] : keys) {
      if (k == name) return v;
    }
    return std::nullopt;
  }

  [[noreturn]] void missing(const Value& map, std::string_view key) const {
    fail(map, "missing required key " + quoted(key));
  }

  // ---- lists

  // Elements of a list; null (an empty value) counts as an empty list.
  std::vector<Value> items(const Value& v) const {
    std::vector<Value> out;
    if (v.node.IsNull()) return out;
    if (!v.node.IsSequence()) fail(v, "expected a list, got " + describe(v.node));
    std::size_t i = 0;
    for (const YAML::Node& item : v.node) {
      YAML::Mark mark = item.Mark().is_null() ? v.mark : item.Mark();
      out.push_back(Value{item, v.path + "[" + std::to_string(i++) + "]", mark});
    }
    return out;
  }

  // ---- scalars

  // The interpolated text of a scalar. `kind` names the expected type for messages.
  std::string text(const Value& v, std::string_view kind = "a string") const {
    if (!v.node.IsScalar()) fail(v, "expected " + std::string(kind) + ", got " + describe(v.node));
    std::string value;
    try {
      value = interpolate(v.node.Scalar(), env_);
    } catch (const InterpolationError& e) {
      fail(v, e.what());
    }
    // Strings end up in JSON (etcd values), which must be UTF-8. The value itself is left out of
    // the message: a reference shows where it came from, and the position points at it.
    if (!is_valid_utf8(value)) {
      std::string message = "value is not valid UTF-8";
      if (v.node.Scalar() != value && is_valid_utf8(v.node.Scalar())) {
        message += " (from " + quoted(v.node.Scalar()) + ")";
      }
      fail(v, message);
    }
    return value;
  }

  // `"value"`, plus `(from "${X}")` when interpolation changed it.
  static std::string shown(const Value& v, const std::string& value) {
    std::string out = quoted(value);
    if (v.node.Scalar() != value) out += " (from " + quoted(v.node.Scalar()) + ")";
    return out;
  }

  Duration duration(const Value& v) const {
    std::string s = text(v, "a duration");
    std::string why;
    std::optional<Duration> d = parse_duration(s, why);
    if (!d) fail(v, "invalid duration " + shown(v, s) + ": " + why);
    return *d;
  }

  // A duration in `range`. `min_note` explains the minimum in the message, when it needs a reason.
  Duration bounded_duration(const Value& v, DurationRange range,
                            std::string_view min_note = "") const {
    Duration d = duration(v);
    if (d < range.min || d > range.max) fail(v, range_message(range, d, min_note));
    return d;
  }

  static std::string range_message(DurationRange range, Duration got,
                                   std::string_view min_note = "") {
    std::string got_text = ", got " + format_duration(got);
    if (range.min.count() == 0) return "must be at most " + format_duration(range.max) + got_text;
    std::string min = format_duration(range.min);
    if (!min_note.empty()) min += " (" + std::string(min_note) + ")";
    return "must be between " + min + " and " + format_duration(range.max) + got_text;
  }

  // A decimal integer in [min, max]; no sign other than '-', no leading zeros.
  long long integer(const Value& v, long long min, long long max) const {
    std::string s = text(v, "an integer");
    std::string_view digits = s;
    bool negative = digits.starts_with('-');
    if (negative) digits.remove_prefix(1);
    bool ok = !digits.empty() && (digits.size() == 1 || digits.front() != '0');
    for (char c : digits) ok = ok && c >= '0' && c <= '9';
    if (!ok) fail(v, "expected an integer, got " + shown(v, s));
    long long value = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    bool in_range = ec == std::errc{} && ptr == s.data() + s.size() && value >= min && value <= max;
    if (!in_range) {
      if (max == INT_MAX && (negative || (ec == std::errc{} && value < min))) {
        fail(v, "must be at least " + std::to_string(min) + ", got " + s);
      }
      fail(v, s + " is out of range (" + std::to_string(min) + "-" + std::to_string(max) + ")");
    }
    return value;
  }

  double number(const Value& v) const {
    std::string s = text(v, "a number");
    double value = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size() || !std::isfinite(value)) {
      fail(v, "expected a number, got " + shown(v, s));
    }
    return value;
  }

  bool boolean(const Value& v) const {
    std::string s = text(v, "true or false");
    if (s == "true") return true;
    if (s == "false") return false;
    fail(v, "expected true or false, got " + shown(v, s));
  }

  // ---- TLS

  // A `tls` section: its presence turns TLS on, `enabled: false` (or `tls: false`) off again.
  // Relative file paths are taken from the daemon's working directory.
  TlsSpec tls(const Value& v, bool consul) const {
    TlsSpec t;
    if (v.node.IsScalar()) {
      t.enabled = boolean(v);
      return t;
    }
    static const std::map<std::string_view, std::string> grpc_special{
        {"insecure_skip_verify",
         "is only supported in registry.consul.tls; give the server's CA in ca_file instead"}};
    auto keys = consul ? fields(v, kConsulTlsKeys) : fields(v, kGrpcTlsKeys, grpc_special);
    t.enabled = true;
    if (auto e = find(keys, "enabled")) t.enabled = boolean(*e);
    auto file = [&](std::string_view key, std::string& out) -> std::optional<Value> {
      auto f = find(keys, key);
      if (!f) return std::nullopt;
      out = text(*f);
      if (out.empty()) fail(*f, "must not be empty (leave it out when there is no such file)");
      for (char c : out) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          fail(*f, "must not contain control characters");
        }
      }
      return f;
    };
    file("ca_file", t.ca_file);
    auto cert = file("cert_file", t.cert_file);
    auto key = file("key_file", t.key_file);
    if (cert && !key) fail(*cert, "needs key_file as well (the client certificate's private key)");
    if (key && !cert) fail(*key, "needs cert_file as well (the client certificate)");
    if (auto n = find(keys, "server_name")) {
      t.server_name = text(*n);
      if (t.server_name.empty()) fail(*n, "must not be empty (leave it out for the host dialled)");
      for (char c : t.server_name) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '/' || c == ':') {
          fail(*n, "must be a host name, got " + shown(*n, t.server_name));
        }
      }
    }
    if (auto i = find(keys, "insecure_skip_verify")) t.insecure_skip_verify = boolean(*i);
    return t;
  }

  template <typename E, std::size_t N>
  E choice(const Value& v, const std::array<std::pair<E, std::string_view>, N>& names) const {
    std::string s = text(v);
    if (auto e = enum_value(names, s)) return *e;
    std::array<std::string_view, N> allowed;
    for (std::size_t i = 0; i < N; ++i) allowed[i] = names[i].second;
    std::string message =
        "invalid value " + shown(v, s) + " (allowed: " + join_names(allowed) + ")";
    if (auto close = closest_match(s, allowed)) message += "; did you mean " + quoted(*close) + "?";
    fail(v, message);
  }

  // ---- registry

  RegistrySpec registry(const Value& v) const {
    auto keys = fields(v, kRegistryKeys);
    RegistrySpec r;
    auto kind = find(keys, "kind");
    if (kind) r.kind = choice(*kind, kRegistryKindNames);
    if (auto e = find(keys, "etcd")) r.etcd = etcd(*e, r.kind == RegistryKind::Etcd);
    // Both sections may be present (the same manifest runs against either backend); each is
    // validated, and only the chosen one is used. The environment counts for Consul only.
    auto c = find(keys, "consul");
    ConsulKeysSet set;
    if (c) r.consul = consul(*c, set);
    if (r.kind == RegistryKind::Consul) {
      consul_env(r.consul, set, c ? *c : *kind);
      consul_tls(r.consul, set, c ? *c : *kind);
    }
    if (auto b = find(keys, "backoff")) r.backoff = backoff(*b);
    return r;
  }

  // Which keys of registry.consul the manifest sets (the environment fills in the others).
  struct ConsulKeysSet {
    bool address = false;
    bool token = false;
    bool token_file = false;
    AddressScheme scheme = AddressScheme::None;  // of the manifest's address
    std::optional<Value> address_value;
    std::optional<Value> tls;  // the manifest's tls section
  };

  ConsulSpec consul(const Value& v, ConsulKeysSet& set) const {
    auto keys = fields(v, kConsulKeys);
    ConsulSpec c;
    if (auto a = find(keys, "address")) {
      std::string why;
      std::string value = text(*a);
      std::optional<std::string> address = normalize_consul_address(value, why, &set.scheme);
      if (!address) fail(*a, why);
      c.address = *address;
      set.address = true;
      set.address_value = *a;
    }
    if (auto t = find(keys, "tls")) {
      c.tls = tls(*t, /*consul=*/true);
      set.tls = *t;
    }
    if (auto t = find(keys, "token")) {
      c.token = text(*t);
      // A token is one line: a newline in it would end up in an HTTP header. The value itself is
      // never quoted in a message.
      for (char ch : c.token) {
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
          fail(*t, "must not contain control characters (the value is not shown)");
        }
      }
      set.token = true;
      if (!c.token.empty()) c.token_source = "registry.consul.token";
    }
    if (auto f = find(keys, "token_file")) {
      c.token_file = text(*f);
      if (c.token_file.empty()) fail(*f, "must not be empty (leave it out for no token file)");
      set.token_file = true;
      c.token_source = "registry.consul.token_file (" + c.token_file + ")";
    }
    if (auto o = find(keys, "owner")) {
      c.owner = text(*o);
      if (c.owner.empty()) fail(*o, "must not be empty (leave it out for <hostname>:<manifest>)");
      for (char ch : c.owner) {
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
          fail(*o, "must not contain control characters");
        }
      }
      if (c.owner.size() > kConsulMetaValueMaxLength) {
        fail(*o, "must be at most " + std::to_string(kConsulMetaValueMaxLength) +
                     " bytes (it is stored in Consul service metadata)");
      }
    }
    std::optional<Value> ttl_value = find(keys, "check_ttl");
    if (ttl_value) c.check_ttl = bounded_duration(*ttl_value, kCheckTtlRange);
    if (auto d = find(keys, "deregister_critical_after")) {
      c.deregister_critical_after =
          bounded_duration(*d, kDeregisterCriticalAfterRange, "Consul's minimum");
    }
    if (auto r = find(keys, "reconcile_interval")) {
      c.reconcile_interval = duration(*r);
      const DurationRange& range = kReconcileIntervalRange;
      if (c.reconcile_interval.count() != 0 &&
          (c.reconcile_interval < range.min || c.reconcile_interval > range.max)) {
        fail(*r, "must be 0 (off) or between " + format_duration(range.min) + " and " +
                     format_duration(range.max) + ", got " + format_duration(c.reconcile_interval));
      }
    }
    if (auto w = find(keys, "weights")) c.weights = weights(*w);
    std::optional<Value> timeout_value = find(keys, "request_timeout");
    if (timeout_value) c.request_timeout = bounded_duration(*timeout_value, kRequestTimeoutRange);
    // One slow request must not let a check's TTL expire: refreshes run every TTL/3.
    if (c.request_timeout > c.check_ttl / 2) {
      std::string message = "request_timeout (" + format_duration(c.request_timeout) +
                            ") must be at most half of check_ttl (" + format_duration(c.check_ttl) +
                            "), so that one slow request cannot let a check expire";
      if (timeout_value) fail(*timeout_value, message);
      fail(*ttl_value, message);
    }
    return c;
  }

  // The variables Consul's own tools honour, for the keys the manifest leaves out.
  void consul_env(ConsulSpec& c, ConsulKeysSet& set, const Value& at) const {
    auto env = [this](const char* name) -> std::optional<std::string> {
      std::optional<std::string> value = env_(name);
      if (value && value->empty()) return std::nullopt;  // as Consul: empty means unset
      return value;
    };
    if (!set.address) {
      if (auto a = env("CONSUL_HTTP_ADDR")) {
        if (!is_valid_utf8(*a))
          fail(at.mark, "registry.consul.address", "CONSUL_HTTP_ADDR is not valid UTF-8");
        std::string why;
        std::optional<std::string> address = normalize_consul_address(*a, why, &set.scheme);
        if (!address) {
          fail(at.mark, "registry.consul.address", why + " (from CONSUL_HTTP_ADDR)");
        }
        c.address = *address;
        c.address_source = "CONSUL_HTTP_ADDR";
      }
    }
    if (set.token || set.token_file) return;
    if (auto t = env("CONSUL_HTTP_TOKEN")) {
      for (char ch : *t) {
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
          fail(at.mark, "registry.consul.token",
               "CONSUL_HTTP_TOKEN must not contain control characters (the value is not shown)");
        }
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
  void consul_tls(ConsulSpec& c, ConsulKeysSet& set, const Value& at) const {
    std::string env_error;
    auto check_env = [&] {
      if (!env_error.empty()) fail(at.mark, "registry.consul.tls", env_error);
    };
    const bool unix_socket = c.address.rfind("unix://", 0) == 0;
    if (set.tls) {
      // The section decides; an explicit http:// address contradicts an enabled section.
      if (c.tls.enabled && set.scheme == AddressScheme::Http) {
        const Value& where = set.address_value ? *set.address_value : *set.tls;
        fail(where.mark, "registry.consul.address",
             "http:// contradicts registry.consul.tls (use https:// or host:port)");
      }
      if (!c.tls.enabled && set.scheme == AddressScheme::Https) {
        fail(set.tls->mark, "registry.consul.tls",
             "TLS is turned off here but the address says https://");
      }
    } else if (set.scheme != AddressScheme::None) {
      c.tls.enabled = set.scheme == AddressScheme::Https;
    } else if (auto ssl = consul_bool_variable("CONSUL_HTTP_SSL", env_, env_error)) {
      c.tls.enabled = *ssl;
    }
    check_env();
    if (!c.tls.enabled) return;
    if (unix_socket) {
      const Value& where = set.tls ? *set.tls : at;
      fail(where.mark, "registry.consul.tls", "TLS over a unix socket is not supported");
    }
    const bool skip_set = set.tls && set.tls->node.IsMap() && set.tls->node["insecure_skip_verify"];
    fill_consul_tls_from_env(c.tls, skip_set, env_, env_error);
    check_env();
    if (c.tls.cert_file.empty() != c.tls.key_file.empty()) {
      fail((set.tls ? *set.tls : at).mark, "registry.consul.tls",
           "a client certificate needs both cert_file and key_file (or CONSUL_CLIENT_CERT and "
           "CONSUL_CLIENT_KEY)");
    }
  }

  ConsulWeights weights(const Value& v) const {
    auto keys = fields(v, kWeightsKeys);
    ConsulWeights w;
    if (v.node.IsNull()) fail(v, "expected a map with passing and/or warning, e.g. {passing: 10}");
    if (auto p = find(keys, "passing")) w.passing = static_cast<int>(integer(*p, 1, 65535));
    if (auto p = find(keys, "warning")) w.warning = static_cast<int>(integer(*p, 0, 65535));
    return w;
  }

  EtcdSpec etcd(const Value& v, bool in_use) const {
    static const std::map<std::string_view, std::string> special{
        {"password",
         "a password is never written in the manifest: use password_file (or $ETCDCTL_PASSWORD)"}};
    auto keys = fields(v, kEtcdKeys, special);
    EtcdSpec e;
    if (auto t = find(keys, "tls")) e.tls = tls(*t, /*consul=*/false);
    auto user = find(keys, "username");
    if (user) {
      e.username = text(*user);
      if (e.username.empty()) fail(*user, "must not be empty (leave it out for no authentication)");
      for (char c : e.username) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          fail(*user, "must not contain control characters");
        }
      }
    }
    if (auto f = find(keys, "password_file")) {
      if (!user) fail(*f, "needs username as well");
      e.password_file = text(*f);
      if (e.password_file.empty()) fail(*f, "must not be empty");
      e.password_source = "registry.etcd.password_file (" + e.password_file + ")";
    } else if (user && in_use) {
      std::optional<std::string> pw = env_("ETCDCTL_PASSWORD");
      if (!pw || pw->empty()) {
        fail(*user, "needs a password: set registry.etcd.password_file (or $ETCDCTL_PASSWORD)");
      }
      for (char c : *pw) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          fail(*user,
               "ETCDCTL_PASSWORD must not contain control characters (the value is not "
               "shown)");
        }
      }
      e.password = *pw;
      e.password_source = "ETCDCTL_PASSWORD";
    }
    if (auto ep = find(keys, "endpoints")) e.endpoints = endpoints(*ep);
    if (auto p = find(keys, "prefix")) e.prefix = prefix(*p);
    if (auto f = find(keys, "format")) e.format = choice(*f, kEtcdKeyFormatNames);
    if (auto t = find(keys, "lease_ttl")) {
      e.lease_ttl = duration(*t);
      if (e.lease_ttl.count() % 1000 != 0) {
        fail(*t, "must be whole seconds, got " + format_duration(e.lease_ttl));
      }
      if (e.lease_ttl < kLeaseTtlRange.min || e.lease_ttl > kLeaseTtlRange.max) {
        fail(*t, range_message(kLeaseTtlRange, e.lease_ttl, "etcd's minimum lease TTL"));
      }
    }
    if (auto t = find(keys, "dial_timeout")) {
      e.dial_timeout = bounded_duration(*t, kDialTimeoutRange);
    }
    if (auto t = find(keys, "resync_interval")) {
      e.resync_interval = duration(*t);
      const DurationRange& r = kResyncIntervalRange;
      if (e.resync_interval.count() != 0 &&
          (e.resync_interval < r.min || e.resync_interval > r.max)) {
        fail(*t, "must be 0 (off) or between " + format_duration(r.min) + " and " +
                     format_duration(r.max) + ", got " + format_duration(e.resync_interval));
      }
    }
    if (auto o = find(keys, "owner")) {
      e.owner = text(*o);
      if (e.owner.empty()) fail(*o, "must not be empty (leave it out for <hostname>:<manifest>)");
      for (char c : e.owner) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          fail(*o, "must not contain control characters");
        }
      }
    }
    return e;
  }

  std::string endpoint(const Value& v, std::string_view text_value) const {
    std::string why;
    std::optional<std::string> ep = normalize_etcd_endpoint(text_value, why);
    if (!ep) fail(v, why);
    return *ep;
  }

  // A list of endpoints, or one string (comma-separated endpoints allowed, for ${VAR}).
  std::vector<std::string> endpoints(const Value& v) const {
    std::vector<std::string> out;
    if (v.node.IsScalar()) {
      std::string s = text(v);
      std::size_t start = 0;
      while (true) {
        std::size_t comma = s.find(',', start);
        std::string part = s.substr(start, comma == std::string::npos ? comma : comma - start);
        while (!part.empty() && part.front() == ' ') part.erase(0, 1);
        while (!part.empty() && part.back() == ' ') part.pop_back();
        if (!part.empty()) out.push_back(endpoint(v, part));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else {
      for (const Value& item : items(v)) out.push_back(endpoint(item, text(item)));
    }
    if (out.empty()) fail(v, "at least one endpoint is required");
    return out;
  }

  std::string prefix(const Value& v) const {
    std::string p = text(v);
    if (p.empty() || p.front() != '/') fail(v, "must start with \"/\", got " + shown(v, p));
    if (p.size() > 1 && p.back() == '/') p.pop_back();
    if (p == "/") fail(v, "must name at least one path segment, e.g. /services");
    if (p.find("//") != std::string::npos || p.back() == '/') {
      fail(v, "must not contain empty path segments, got " + shown(v, text(v)));
    }
    return p;
  }

  BackoffSpec backoff(const Value& v) const {
    auto keys = fields(v, kBackoffKeys);
    BackoffSpec b;
    auto initial = find(keys, "initial");
    auto max = find(keys, "max");
    if (initial) b.initial = bounded_duration(*initial, kBackoffRange);
    if (max) b.max = bounded_duration(*max, kBackoffRange);
    if (auto m = find(keys, "multiplier")) {
      b.multiplier = number(*m);
      if (b.multiplier < 1) fail(*m, "must be at least 1, got " + text(*m));
    }
    if (auto j = find(keys, "jitter")) {
      b.jitter = number(*j);
      if (b.jitter < 0 || b.jitter > 1) fail(*j, "must be between 0 and 1, got " + text(*j));
    }
    if (b.max < b.initial) {
      std::string message = "max (" + format_duration(b.max) + ") must not be less than initial (" +
                            format_duration(b.initial) + ")";
      if (max) fail(*max, message);
      fail(*initial, message);
    }
    return b;
  }

  // ---- status server

  StatusSpec status(const Value& v) const {
    auto keys = fields(v, kStatusKeys);
    StatusSpec st;
    if (auto l = find(keys, "listen")) {
      const std::string text_value = text(*l);
      std::string why;
      auto address = parse_listen_address(text_value, why);
      if (!address) fail(*l, why);
      st.listen = to_string(*address);
    }
    return st;
  }

  // ---- probes

  ProbeSpec defaults(const Value& v) const {
    auto keys = fields(v, kDefaultsKeys);
    ProbeSpec p;
    if (auto probe_value = find(keys, "probe")) probe(*probe_value, p, /*per_service=*/false);
    return p;
  }

  // Applies the keys present in `v` on top of `p`.
  void probe(const Value& v, ProbeSpec& p, bool per_service) const {
    static const std::map<std::string_view, std::string> defaults_special{
        {"target", "can only be set per service, in services[].probe"},
        {"service", "can only be set per service, in services[].probe"}};
    auto keys =
        per_service ? fields(v, kServiceProbeKeys) : fields(v, kDefaultProbeKeys, defaults_special);
    if (auto m = find(keys, "mode")) p.mode = choice(*m, kProbeModeNames);
    if (auto i = find(keys, "interval")) p.interval = bounded_duration(*i, kProbeRange);
    if (auto t = find(keys, "timeout")) p.timeout = bounded_duration(*t, kProbeRange);
    if (auto r = find(keys, "rise")) p.rise = static_cast<int>(integer(*r, 1, INT_MAX));
    if (auto f = find(keys, "fall")) p.fall = static_cast<int>(integer(*f, 1, INT_MAX));
    if (auto t = find(keys, "target")) {
      p.target = text(*t);
      if (p.target.empty()) fail(*t, "must not be empty (leave it out for <address>:<port>)");
      for (char c : p.target) {
        if (c == ' ' || c == '\t' || static_cast<unsigned char>(c) < 0x20) {
          fail(*t, "must not contain whitespace, got " + shown(*t, p.target));
        }
      }
    }
    if (auto s = find(keys, "service")) p.service = text(*s);
    // A service's tls section replaces the default one as a whole (`tls: false` turns it off).
    if (auto t = find(keys, "tls")) p.tls = tls(*t, /*consul=*/false);
  }

  // ---- services

  std::vector<ServiceSpec> services(const Value& v, const ProbeSpec& defaults) const {
    std::vector<ServiceSpec> out;
    struct Seen {
      std::size_t index;
      int line;
    };
    std::map<std::string, Seen> ids;
    for (const Value& item : items(v)) {
      std::optional<Value> id_value;
      ServiceSpec s = service(item, defaults, id_value);
      auto [first, inserted] = ids.emplace(s.id, Seen{out.size(), s.location.line});
      if (!inserted) {
        const Value& at = id_value ? *id_value : item;
        fail(at.mark, item.path + ".id",
             "duplicate id " + quoted(s.id) + " (also used by services[" +
                 std::to_string(first->second.index) + "] at line " +
                 std::to_string(first->second.line) + ")" + (id_value ? "" : "; set distinct ids"));
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  // The gokit and grpc-go formats key each instance on <name>/<address>:<port>, so two services
  // that share all three would overwrite each other's key.
  static void check_address_keys(const Manifest& m) {
    if (m.registry.kind != RegistryKind::Etcd || m.registry.etcd.format == EtcdKeyFormat::Json) {
      return;
    }
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < m.services.size(); ++i) {
      const ServiceSpec& s = m.services[i];
      std::string address = join_host_port(s.address, s.port);
      auto [first, inserted] = seen.emplace(s.name + "/" + address, i);
      if (!inserted) {
        throw ConfigError(s.location, "services[" + std::to_string(i) + "]",
                          "same name and address " + quoted(s.name + " " + address) +
                              " as services[" + std::to_string(first->second) + "] at line " +
                              std::to_string(m.services[first->second].location.line) + "; the " +
                              std::string(to_string(m.registry.etcd.format)) +
                              " format would give both the same key");
      }
    }
  }

  static bool is_name_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  }

  ServiceSpec service(const Value& v, const ProbeSpec& defaults,
                      std::optional<Value>& id_value) const {
    if (!v.node.IsMap()) fail(v, "expected a map, got " + describe(v.node));
    auto keys = fields(v, kServiceKeys);
    ServiceSpec s;
    s.location = location(v.mark);

    auto name = find(keys, "name");
    if (!name) missing(v, "name");
    s.name = text(*name);
    bool name_ok = !s.name.empty();
    for (char c : s.name) name_ok = name_ok && is_name_char(c);
    if (!name_ok) {
      fail(*name,
           "invalid name " + shown(*name, s.name) + ": use only letters, digits, '.', '_' and '-'");
    }

    auto address = find(keys, "address");
    if (!address) missing(v, "address");
    s.address = text(*address);
    if (std::string why = host_error(s.address); !why.empty()) fail(*address, why);

    auto port = find(keys, "port");
    if (!port) missing(v, "port");
    s.port = static_cast<std::uint16_t>(integer(*port, 1, 65535));

    id_value = find(keys, "id");
    if (id_value) {
      s.id = text(*id_value);
      if (s.id.empty()) fail(*id_value, "must not be empty (leave it out for the default)");
      for (char c : s.id) {
        if (c == '/' || c == ' ' || c == '\t' || static_cast<unsigned char>(c) < 0x20 ||
            c == 0x7f) {
          fail(*id_value, "invalid id " + shown(*id_value, s.id) +
                              ": no '/', whitespace or control characters");
        }
      }
    } else {
      s.id = default_service_id(s.name, s.address, s.port);
    }

    if (auto tags = find(keys, "tags")) {
      for (const Value& tag : items(*tags)) s.tags.push_back(text(tag));
    }
    if (auto meta = find(keys, "meta")) s.meta = metadata(*meta);

    s.probe = defaults;
    s.probe.target.clear();
    s.probe.service.clear();
    if (auto p = find(keys, "probe")) probe(*p, s.probe, /*per_service=*/true);
    if (s.probe.target.empty()) s.probe.target = default_probe_target(s.address, s.port);
    return s;
  }

  std::map<std::string, std::string> metadata(const Value& v) const {
    std::map<std::string, std::string> out;
    if (v.node.IsNull()) return out;
    if (!v.node.IsMap()) fail(v, "expected a map of strings, got " + describe(v.node));
    std::map<std::string, int> seen;
    for (auto it = v.node.begin(); it != v.node.end(); ++it) {
      // Copies: yaml-cpp's iterator hands out a temporary pair.
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) fail(key.Mark(), v.path, "keys must be strings, got " + describe(key));
      std::string path = join_path(v.path, key.Scalar());
      if (key.Scalar().empty()) fail(key.Mark(), v.path, "keys must not be empty");
      if (!is_valid_utf8(key.Scalar())) {
        fail(key.Mark(), v.path, "keys must be valid UTF-8, got " + quoted(key.Scalar()));
      }
      if (auto [first, inserted] = seen.emplace(key.Scalar(), key.Mark().line + 1); !inserted) {
        fail(key.Mark(), path,
             "duplicate key " + quoted(key.Scalar()) + " (first set at line " +
                 std::to_string(first->second) + ")");
      }
      YAML::Mark mark = value.IsNull() || value.Mark().is_null() ? key.Mark() : value.Mark();
      Value item{value, path, mark};
      if (!item.node.IsScalar()) {
        fail(item, "meta values must be strings, got " + describe(item.node));
      }
      out[key.Scalar()] = text(item);
      if (consul_) consul_meta_rules(key, v.path, path, item, out);
    }
    return out;
  }

  // What Consul accepts in service metadata, checked here so that a manifest Consul would refuse
  // fails at start with a position, not with a 400 retried forever.
  void consul_meta_rules(const YAML::Node& key, const std::string& map_path,
                         const std::string& path, const Value& item,
                         const std::map<std::string, std::string>& so_far) const {
    const std::string& k = key.Scalar();
    bool ok = k.size() <= kConsulMetaKeyMaxLength;
    for (char c : k) {
      ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_');
    }
    if (!ok) {
      fail(key.Mark(), map_path,
           "key " + quoted(k) +
               " is not allowed by Consul (registry.kind is consul): use at most " +
               std::to_string(kConsulMetaKeyMaxLength) + " letters, digits, '-' and '_'");
    }
    if (k.rfind("consul-", 0) == 0) {
      fail(key.Mark(), map_path,
           "key " + quoted(k) + " is not allowed by Consul: the prefix \"consul-\" is reserved");
    }
    if (k == "managed-by" || k == "grpc-registrar-owner") {
      fail(key.Mark(), map_path,
           "key " + quoted(k) + " is reserved: grpc-registrar marks its Consul services with it");
    }
    if (so_far.at(k).size() > kConsulMetaValueMaxLength) {
      fail(item, "value is longer than Consul allows (" +
                     std::to_string(kConsulMetaValueMaxLength) + " bytes)");
    }
    // Two pairs are grpc-registrar's own (managed-by, grpc-registrar-owner).
    if (so_far.size() > kConsulMaxMetaPairs - 2) {
      fail(key.Mark(), path,
           "too many keys for Consul: at most " + std::to_string(kConsulMaxMetaPairs - 2) +
               " (Consul allows " + std::to_string(kConsulMaxMetaPairs) +
               ", grpc-registrar uses 2)");
    }
  }

  std::string source_;
  const EnvLookup& env_;
  bool consul_ = false;  // registry.kind is consul: service metadata must suit Consul
};

}  // namespace

Manifest parse_manifest(std::string_view yaml, const std::string& source_name,
                        const EnvLookup& env) {
  return Parser(source_name, env).parse(yaml);
}

Manifest load_manifest(const std::string& path, const EnvLookup& env) {
  auto cannot_read = [&](int err) {
    return ConfigError(Location{path, 0, 0}, "", std::string("cannot read: ") + std::strerror(err));
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw cannot_read(errno);
  std::string content;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      throw cannot_read(err);
    }
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return parse_manifest(content, path, env);
}

}  // namespace registrar::config
