// Fuzz target "manifest": the whole input is manifest text, parsed with a fixed environment.
// Invariants:
// - parse_manifest throws nothing but ConfigError, and its message is one line of valid UTF-8;
// - a parsed manifest, rendered by render_effective and parsed again, gives the same settings,
//   and rendering that is a fixed point (parse(render(x)) renders to the same text);
// - secrets (the Consul token, the etcd password from the environment) appear neither in the
//   rendering nor in error messages, unless the input itself copies them elsewhere.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "config/effective.hpp"
#include "config/error.hpp"
#include "config/manifest_parser.hpp"
#include "config/utf8.hpp"
#include "fuzz_support.hpp"

namespace registrar::fuzz {
namespace {

using namespace config;

constexpr const char* kSource = "fuzz.yaml";
// Secrets in the environment, shaped like real ones (a Consul token is a UUID).
constexpr const char* kEnvToken = "0f1e2d3c-4b5a-4697-8877-fedcba987654";
constexpr const char* kEnvPassword = "pw-fuzz-S3cret-77aa";

const EnvLookup& fixed_env() {
  static const std::map<std::string, std::string> vars{
      {"PORT", "50051"},
      {"HOST", "127.0.0.1"},
      {"NAME", "hello"},
      {"EMPTY", ""},
      {"ENDPOINTS", "127.0.0.1:2379, [::1]:2379"},
      {"CONSUL_HTTP_TOKEN", kEnvToken},
      {"ETCDCTL_PASSWORD", kEnvPassword},
      {"REGISTRAR_ZOOKEEPER_PASSWORD", kEnvPassword},
  };
  static const EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  return env;
}

std::size_t count(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

bool contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

// Whether the input spells `secret` itself, also as an error message would quote it:
// format_config_error escapes control characters and invalid UTF-8 as \xHH, and the escape's
// last digit can complete a value ("\xB0" then "f1e2d3c-..." reads "0f1e2d3c-...": a false
// alarm found by a 240 s run, tests/fuzz/regressions/manifest/escape-completes-env-token).
bool spells(std::string_view yaml, std::string_view secret) {
  return contains(yaml, secret) ||
         contains(format_config_error(Location{}, "", std::string(yaml)), secret);
}

// Secrets that must not show in `out`, given input `yaml`. The environment's secrets only when
// the input neither names their variables nor spells their values; an inline token only when it
// occurs once in the input (as the token itself), with no escapes, aliases or references that
// could copy it into another field, and is not a piece of the redaction marker.
void check_no_secrets(std::string_view yaml, std::string_view out, const Manifest* m,
                      std::string_view where) {
  if (!contains(yaml, "CONSUL_HTTP_TOKEN") && !spells(yaml, kEnvToken)) {
    check(!contains(out, kEnvToken), std::string(where) + " shows $CONSUL_HTTP_TOKEN");
  }
  if (!contains(yaml, "ETCDCTL_PASSWORD") && !spells(yaml, kEnvPassword)) {
    check(!contains(out, kEnvPassword), std::string(where) + " shows $ETCDCTL_PASSWORD");
  }
  if (m == nullptr) return;
  const std::string& token = m->registry.consul.token;
  const bool copyable =
      contains(yaml, "\\") || contains(yaml, "*") || contains(yaml, "$") || contains(yaml, "!");
  if (token.size() >= 6 && !copyable && count(yaml, token) == 1 && !contains(kRedacted, token)) {
    check(!contains(out, token), std::string(where) + " shows registry.consul.token");
  }
}

// TLS settings as they take effect: a disabled section means nothing, whatever it names.
TlsSpec effective(TlsSpec t) {
  if (!t.enabled) return TlsSpec{};
  return t;
}

std::string differs(const ProbeSpec& a, const ProbeSpec& b, bool per_service) {
  if (a.mode != b.mode) return "mode";
  if (a.interval != b.interval) return "interval";
  if (a.timeout != b.timeout) return "timeout";
  if (a.rise != b.rise) return "rise";
  if (a.fall != b.fall) return "fall";
  if (per_service && a.target != b.target) return "target";
  if (per_service && a.service != b.service) return "service";
  if (effective(a.tls) != effective(b.tls)) return "tls";
  return "";
}

// The first setting in which `a` and `b` differ, as a field path; "" when they are the same as
// far as render_effective promises (the chosen backend's section, defaults, services, drain,
// shutdown_timeout, status; never secrets, which it redacts).
std::string differs(const Manifest& a, const Manifest& b) {
  const RegistrySpec& ra = a.registry;
  const RegistrySpec& rb = b.registry;
  if (ra.kind != rb.kind) return "registry.kind";
  if (ra.kind == RegistryKind::Etcd) {
    const EtcdSpec& x = ra.etcd;
    const EtcdSpec& y = rb.etcd;
    if (x.endpoints != y.endpoints) return "registry.etcd.endpoints";
    if (x.prefix != y.prefix) return "registry.etcd.prefix";
    if (x.format != y.format) return "registry.etcd.format";
    if (x.lease_ttl != y.lease_ttl) return "registry.etcd.lease_ttl";
    if (x.dial_timeout != y.dial_timeout) return "registry.etcd.dial_timeout";
    if (x.resync_interval != y.resync_interval) return "registry.etcd.resync_interval";
    if (x.owner != y.owner) return "registry.etcd.owner";
    if (effective(x.tls) != effective(y.tls)) return "registry.etcd.tls";
    if (x.username != y.username) return "registry.etcd.username";
    if (x.password_file != y.password_file) return "registry.etcd.password_file";
    if (x.password != y.password) return "registry.etcd.password (from the environment)";
  } else if (ra.kind == RegistryKind::ZooKeeper) {
    const ZooKeeperSpec& x = ra.zookeeper;
    const ZooKeeperSpec& y = rb.zookeeper;
    if (x.servers != y.servers) return "registry.zookeeper.servers";
    if (x.chroot != y.chroot) return "registry.zookeeper.chroot";
    if (x.base_path != y.base_path) return "registry.zookeeper.base_path";
    if (x.session_timeout != y.session_timeout) return "registry.zookeeper.session_timeout";
    if (x.format != y.format) return "registry.zookeeper.format";
    if (x.resync_interval != y.resync_interval) return "registry.zookeeper.resync_interval";
    if (x.owner != y.owner) return "registry.zookeeper.owner";
    if (x.username != y.username) return "registry.zookeeper.auth.username";
    if (x.password_file != y.password_file) return "registry.zookeeper.auth.password_file";
    if (x.password != y.password) return "registry.zookeeper.auth.password (from the environment)";
    if (!x.username.empty() && x.acl != y.acl) return "registry.zookeeper.auth.acl";
  } else if (ra.kind == RegistryKind::Nacos) {
    const NacosSpec& x = ra.nacos;
    const NacosSpec& y = rb.nacos;
    if (x.servers != y.servers) return "registry.nacos.servers";
    if (x.namespace_id != y.namespace_id) return "registry.nacos.namespace";
    if (x.group != y.group) return "registry.nacos.group";
    if (x.cluster != y.cluster) return "registry.nacos.cluster";
    if (x.weight != y.weight) return "registry.nacos.weight";
    if (x.request_timeout != y.request_timeout) return "registry.nacos.request_timeout";
    if (effective(x.tls) != effective(y.tls)) return "registry.nacos.tls";
    if (x.username != y.username) return "registry.nacos.username";
    if (x.password_file != y.password_file) return "registry.nacos.password_file";
    if (x.password != y.password) return "registry.nacos.password (from the environment)";
  } else {
    const ConsulSpec& x = ra.consul;
    const ConsulSpec& y = rb.consul;
    if (x.address != y.address) return "registry.consul.address";
    if (x.token_file != y.token_file) return "registry.consul.token_file";
    if (x.token.empty() != y.token.empty()) return "registry.consul.token (set or not)";
    if (x.owner != y.owner) return "registry.consul.owner";
    if (x.check_ttl != y.check_ttl) return "registry.consul.check_ttl";
    if (x.deregister_critical_after != y.deregister_critical_after)
      return "registry.consul.deregister_critical_after";
    if (x.reconcile_interval != y.reconcile_interval) return "registry.consul.reconcile_interval";
    if (x.request_timeout != y.request_timeout) return "registry.consul.request_timeout";
    if (x.weights != y.weights) return "registry.consul.weights";
    if (effective(x.tls) != effective(y.tls)) return "registry.consul.tls";
  }
  if (ra.backoff.initial != rb.backoff.initial) return "registry.backoff.initial";
  if (ra.backoff.max != rb.backoff.max) return "registry.backoff.max";
  if (ra.backoff.multiplier != rb.backoff.multiplier) return "registry.backoff.multiplier";
  if (ra.backoff.jitter != rb.backoff.jitter) return "registry.backoff.jitter";
  if (auto d = differs(a.default_probe, b.default_probe, false); !d.empty())
    return "defaults.probe." + d;
  if (a.services.size() != b.services.size()) return "services (count)";
  for (std::size_t i = 0; i < a.services.size(); ++i) {
    const ServiceSpec& s = a.services[i];
    const ServiceSpec& t = b.services[i];
    const std::string at = "services[" + std::to_string(i) + "].";
    if (s.name != t.name) return at + "name";
    if (s.id != t.id) return at + "id";
    if (s.address != t.address) return at + "address";
    if (s.port != t.port) return at + "port";
    if (s.tags != t.tags) return at + "tags";
    if (s.meta != t.meta) return at + "meta";
    if (auto d = differs(s.probe, t.probe, true); !d.empty()) return at + "probe." + d;
  }
  if (a.drain != b.drain) return "drain";
  if (a.shutdown_timeout != b.shutdown_timeout) return "shutdown_timeout";
  if (a.status.listen != b.status.listen) return "status.listen";
  return "";
}

void check_error_message(const ConfigError& e) {
  const std::string_view what = e.what();
  check(is_valid_utf8(what), "ConfigError message is not valid UTF-8");
  for (char c : what) {
    const auto u = static_cast<unsigned char>(c);
    check(u >= 0x20 && u != 0x7f, "ConfigError message holds a control character");
  }
  check(what.starts_with(kSource), "ConfigError message does not start with the source name");
}

}  // namespace

int fuzz_manifest(const std::uint8_t* data, std::size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  const EnvLookup& env = fixed_env();
  Manifest m;
  try {
    m = parse_manifest(yaml, kSource, env);
  } catch (const ConfigError& e) {
    check_error_message(e);
    check_no_secrets(yaml, e.what(), nullptr, "a ConfigError message");
    return 0;
  }
  check(m.source == kSource, "Manifest::source is not the source name");
  for (const ServiceSpec& s : m.services) {
    check(!s.id.empty() && !s.probe.target.empty(), "a service without id or probe target");
  }

  const std::string text = render_effective(m);
  check_no_secrets(yaml, text, &m, "render_effective");
  Manifest back;
  try {
    back = parse_manifest(text, kSource, env);
  } catch (const ConfigError& e) {
    invariant_failed(std::string("render_effective output does not parse: ") + e.what() +
                     "\n--- rendered:\n" + text);
  }
  if (std::string d = differs(m, back); !d.empty()) {
    invariant_failed("parse(render_effective(m)) differs from m in " + d + "\n--- rendered:\n" +
                     text);
  }
  // One more round reaches a fixed point: what `check` prints is stable.
  const std::string again = render_effective(back);
  Manifest third;
  try {
    third = parse_manifest(again, kSource, env);
  } catch (const ConfigError& e) {
    invariant_failed(std::string("second rendering does not parse: ") + e.what());
  }
  check(render_effective(third) == again, "render_effective is not stable after one round");
  return 0;
}

}  // namespace registrar::fuzz
