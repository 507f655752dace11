// The `defaults` and `services` sections: each service's name, id, address, tags and meta, and
// its probe (defaults.probe with the service's own keys on top).
#include <array>
#include <chrono>
#include <climits>
#include <string_view>

#include "config/address.hpp"
#include "config/effective.hpp"
#include "config/manifest_sections.hpp"
#include "config/utf8.hpp"

namespace registrar::config {
namespace {

using namespace std::chrono_literals;

constexpr std::array<std::string_view, 1> kDefaultsKeys{"probe"};
constexpr std::array<std::string_view, 8> kDefaultProbeKeys{
    "mode", "interval", "timeout", "rise", "fall", "tls", "liveness_interval", "transparent_retry"};
constexpr std::array<std::string_view, 10> kServiceProbeKeys{
    "mode", "interval",          "timeout",          "rise", "fall", "target", "service",
    "tls",  "liveness_interval", "transparent_retry"};
constexpr std::array<std::string_view, 7> kServiceKeys{"name", "id",   "address", "port",
                                                       "tags", "meta", "probe"};

constexpr DurationRange kProbeRange{10ms, 1h};

// Applies the keys present in `v` on top of `p`.
void probe(const Reader& r, const Value& v, ProbeSpec& p, bool per_service) {
  static const std::map<std::string_view, std::string> defaults_special{
      {"target", "can only be set per service, in services[].probe"},
      {"service", "can only be set per service, in services[].probe"}};
  auto keys = per_service ? r.fields(v, kServiceProbeKeys)
                          : r.fields(v, kDefaultProbeKeys, defaults_special);
  if (auto m = Reader::find(keys, "mode")) p.mode = r.choice(*m, kProbeModeNames);
  if (auto i = Reader::find(keys, "interval")) p.interval = r.bounded_duration(*i, kProbeRange);
  if (auto t = Reader::find(keys, "timeout")) p.timeout = r.bounded_duration(*t, kProbeRange);
  if (auto l = Reader::find(keys, "liveness_interval")) {
    p.liveness_interval = r.bounded_duration(*l, kProbeRange);
  }
  if (auto n = Reader::find(keys, "rise")) p.rise = static_cast<int>(r.integer(*n, 1, INT_MAX));
  if (auto n = Reader::find(keys, "fall")) p.fall = static_cast<int>(r.integer(*n, 1, INT_MAX));
  if (auto t = Reader::find(keys, "target")) {
    p.target = r.text(*t);
    if (p.target.empty()) r.fail(*t, "must not be empty (leave it out for <address>:<port>)");
    for (char c : p.target) {
      if (c == ' ' || c == '\t' || static_cast<unsigned char>(c) < 0x20) {
        r.fail(*t, "must not contain whitespace, got " + r.shown(*t, p.target));
      }
    }
  }
  if (auto s = Reader::find(keys, "service")) p.service = r.text(*s);
  // A service's tls section replaces the default one as a whole (`tls: false` turns it off).
  if (auto t = Reader::find(keys, "tls")) p.tls = read_tls(r, *t, /*consul=*/false);
  if (auto t = Reader::find(keys, "transparent_retry")) p.transparent_retry = r.boolean(*t);
}

std::map<std::string, std::string> metadata(const Reader& r, const Value& v, bool consul) {
  std::map<std::string, std::string> out;
  if (v.node.IsNull()) return out;
  if (!v.node.IsMap()) r.fail(v, "expected a map of strings, got " + describe(v.node));
  std::map<std::string, int> seen;
  for (auto it = v.node.begin(); it != v.node.end(); ++it) {
    // Copies: yaml-cpp's iterator hands out a temporary pair.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) r.fail(key.Mark(), v.path, "keys must be strings, got " + describe(key));
    std::string path = v.path + "." + key.Scalar();
    if (key.Scalar().empty()) r.fail(key.Mark(), v.path, "keys must not be empty");
    if (!is_valid_utf8(key.Scalar())) {
      r.fail(key.Mark(), v.path, "keys must be valid UTF-8, got " + quoted(key.Scalar()));
    }
    if (auto [first, inserted] = seen.emplace(key.Scalar(), key.Mark().line + 1); !inserted) {
      r.fail(key.Mark(), path,
             "duplicate key " + quoted(key.Scalar()) + " (first set at line " +
                 std::to_string(first->second) + ")");
    }
    YAML::Mark mark = value.IsNull() || value.Mark().is_null() ? key.Mark() : value.Mark();
    Value item{value, path, mark};
    if (!item.node.IsScalar()) {
      r.fail(item, "meta values must be strings, got " + describe(item.node));
    }
    out[key.Scalar()] = r.text(item);
    // What Consul accepts, checked here so that a manifest Consul would refuse fails at start
    // with a position, not with a 400 retried forever.
    if (consul) check_consul_meta(r, key, v.path, item, out);
  }
  return out;
}

bool is_service_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// The service's id, or the default one when `id_value` (its id key) is absent.
std::string service_id(const Reader& r, const std::optional<Value>& id_value,
                       const ServiceSpec& s) {
  if (!id_value) return default_service_id(s.name, s.address, s.port);
  std::string id = r.text(*id_value);
  if (id.empty()) r.fail(*id_value, "must not be empty (leave it out for the default)");
  for (char c : id) {
    if (c == '/' || c == ' ' || c == '\t' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      r.fail(*id_value,
             "invalid id " + r.shown(*id_value, id) + ": no '/', whitespace or control characters");
    }
  }
  return id;
}

ServiceSpec service(const Reader& r, const Value& v, const ProbeSpec& defaults, bool consul,
                    std::optional<Value>& id_value) {
  if (!v.node.IsMap()) r.fail(v, "expected a map, got " + describe(v.node));
  auto keys = r.fields(v, kServiceKeys);
  ServiceSpec s;
  s.location = r.location(v.mark);

  auto name = Reader::find(keys, "name");
  if (!name) r.missing(v, "name");
  s.name = r.text(*name);
  bool name_ok = !s.name.empty();
  for (char c : s.name) name_ok = name_ok && is_service_name_char(c);
  if (!name_ok) {
    r.fail(*name, "invalid name " + r.shown(*name, s.name) +
                      ": use only letters, digits, '.', '_' and '-'");
  }

  auto address = Reader::find(keys, "address");
  if (!address) r.missing(v, "address");
  s.address = r.text(*address);
  if (std::string why = host_error(s.address); !why.empty()) r.fail(*address, why);

  auto port = Reader::find(keys, "port");
  if (!port) r.missing(v, "port");
  s.port = static_cast<std::uint16_t>(r.integer(*port, 1, 65535));

  id_value = Reader::find(keys, "id");
  s.id = service_id(r, id_value, s);

  if (auto tags = Reader::find(keys, "tags")) {
    for (const Value& tag : r.items(*tags)) s.tags.push_back(r.text(tag));
  }
  if (auto meta = Reader::find(keys, "meta")) s.meta = metadata(r, *meta, consul);

  s.probe = defaults;
  s.probe.target.clear();
  s.probe.service.clear();
  if (auto p = Reader::find(keys, "probe")) probe(r, *p, s.probe, /*per_service=*/true);
  if (s.probe.target.empty()) s.probe.target = default_probe_target(s.address, s.port);
  return s;
}

}  // namespace

ProbeSpec read_defaults(const Reader& r, const Value& v) {
  auto keys = r.fields(v, kDefaultsKeys);
  ProbeSpec p;
  if (auto probe_value = Reader::find(keys, "probe")) {
    probe(r, *probe_value, p, /*per_service=*/false);
  }
  return p;
}

std::vector<ServiceSpec> read_services(const Reader& r, const Value& v, const ProbeSpec& defaults,
                                       bool consul) {
  std::vector<ServiceSpec> out;
  struct Seen {
    std::size_t index;
    int line;
  };
  std::map<std::string, Seen> ids;
  for (const Value& item : r.items(v)) {
    std::optional<Value> id_value;
    ServiceSpec s = service(r, item, defaults, consul, id_value);
    auto [first, inserted] = ids.emplace(s.id, Seen{out.size(), s.location.line});
    if (!inserted) {
      const Value& at = id_value ? *id_value : item;
      r.fail(at.mark, item.path + ".id",
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
void check_address_keys(const Manifest& m) {
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

}  // namespace registrar::config
