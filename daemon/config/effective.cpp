#include "config/effective.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>

#include "config/address.hpp"
#include "config/duration.hpp"
#include "config/enums.hpp"
#include "config/etcd_keepalive.hpp"
#include "config/interpolate.hpp"

namespace registrar::config {
namespace {

// Every value goes through one of these, so the choice between clear text and redaction is made
// per field, in one place. A credential field (e.g. a future registry.consul.token) must be
// written with secret(); everything else is escaped against ${...} interpolation so that the
// output parses back to the same values.
class Writer {
 public:
  explicit Writer(YAML::Emitter& out) : out_(out) {}

  void key(const char* name) { out_ << YAML::Key << name << YAML::Value; }
  void text(const std::string& value) { out_ << escape_interpolation(value); }
  void text(const char* name, const std::string& value) {
    key(name);
    text(value);
  }
  void secret(const char* name, const std::string& value) {
    key(name);
    if (value.empty()) {
      out_ << "";  // unset: nothing to hide
    } else {
      out_ << kRedacted;
    }
  }
  void duration(const char* name, Duration d) {
    key(name);
    out_ << format_duration(d);
  }
  void integer(const char* name, long long value) {
    key(name);
    out_ << std::to_string(value);
  }
  void number(const char* name, double value) {
    key(name);
    char buf[64];
    auto result = std::to_chars(buf, buf + sizeof buf, value);  // shortest round-trip form
    out_ << std::string(buf, result.ptr);
  }
  void word(const char* name, std::string_view value) {
    key(name);
    out_ << std::string(value);
  }
  void list(const char* name, const std::vector<std::string>& values) {
    key(name);
    out_ << YAML::Flow << YAML::BeginSeq;
    for (const std::string& v : values) text(v);
    out_ << YAML::EndSeq;
  }
  void begin_map(const char* name) {
    key(name);
    out_ << YAML::BeginMap;
  }
  void end_map() { out_ << YAML::EndMap; }
  void comment(const std::string& text) { out_ << YAML::Comment(text); }

  YAML::Emitter& out() { return out_; }

 private:
  YAML::Emitter& out_;
};

// Only an enabled section is written: `check` output stays as short as the manifest for plain
// connections, and parses back to the same settings. `off_overrides` writes `tls: false` for a
// disabled section that would otherwise inherit one (a service's probe under a TLS default).
void write_tls(Writer& w, const TlsSpec& t, bool consul, bool off_overrides = false) {
  if (!t.enabled) {
    if (off_overrides) w.word("tls", "false");
    return;
  }
  w.begin_map("tls");
  if (!t.ca_file.empty()) w.text("ca_file", t.ca_file);
  if (!t.cert_file.empty()) w.text("cert_file", t.cert_file);
  if (!t.key_file.empty()) w.text("key_file", t.key_file);  // a path, not the key
  if (!t.server_name.empty()) w.text("server_name", t.server_name);
  if (consul && t.insecure_skip_verify) w.word("insecure_skip_verify", "true");
  w.end_map();
}

void write_probe(Writer& w, const ProbeSpec& p, bool per_service, bool default_tls = false) {
  w.begin_map("probe");
  w.word("mode", to_string(p.mode));
  w.duration("interval", p.interval);
  w.duration("timeout", p.timeout);
  w.duration("liveness_interval", p.liveness_interval);
  w.integer("rise", p.rise);
  w.integer("fall", p.fall);
  if (per_service) {
    w.text("target", p.target);
    w.text("service", p.service);
  }
  write_tls(w, p.tls, /*consul=*/false, /*off_overrides=*/per_service && default_tls);
  w.word("transparent_retry", p.transparent_retry ? "true" : "false");
  w.end_map();
}

void write_etcd(Writer& w, const EtcdSpec& e) {
  w.begin_map("etcd");
  w.list("endpoints", e.endpoints);
  w.text("prefix", e.prefix);
  w.word("format", to_string(e.format));
  w.duration("lease_ttl", e.lease_ttl);
  w.duration("dial_timeout", e.dial_timeout);
  w.duration("resync_interval", e.resync_interval);
  w.duration("keepalive_time", e.keepalive_time);
  w.duration("keepalive_timeout", keepalive_timeout_of(e));
  if (!e.owner.empty()) w.text("owner", e.owner);  // default: decided by the daemon at start
  write_tls(w, e.tls, /*consul=*/false);
  if (!e.username.empty()) {
    w.text("username", e.username);
    if (!e.password_file.empty()) {
      w.text("password_file", e.password_file);
    } else {
      w.comment("password from " + e.password_source);  // the name of the variable, not its value
    }
  }
  w.end_map();
}

void write_zookeeper(Writer& w, const ZooKeeperSpec& z) {
  w.begin_map("zookeeper");
  w.list("servers", z.servers);
  if (!z.chroot.empty()) w.text("chroot", z.chroot);
  w.text("base_path", z.base_path);
  w.duration("session_timeout", z.session_timeout);
  w.word("format", to_string(z.format));
  w.duration("resync_interval", z.resync_interval);
  if (!z.owner.empty()) w.text("owner", z.owner);  // default: decided by the daemon at start
  if (!z.username.empty()) {
    w.begin_map("auth");
    w.text("username", z.username);
    if (!z.password_file.empty()) {
      w.text("password_file", z.password_file);
    } else {
      w.comment("password from " + z.password_source);  // the variable's name, not its value
    }
    w.word("acl", to_string(z.acl));
    w.end_map();
  }
  w.end_map();
}

void write_consul(Writer& w, const ConsulSpec& c) {
  w.begin_map("consul");
  w.text("address", c.address);
  if (!c.address_source.empty()) w.comment("from " + c.address_source);
  w.secret("token", c.token);
  if (c.token_source == "CONSUL_HTTP_TOKEN") w.comment("from CONSUL_HTTP_TOKEN");
  if (!c.token_file.empty()) {
    w.text("token_file", c.token_file);
    if (c.token_source.rfind("CONSUL_HTTP_TOKEN_FILE", 0) == 0) {
      w.comment("from CONSUL_HTTP_TOKEN_FILE");
    }
  }
  if (!c.owner.empty()) w.text("owner", c.owner);  // default: decided by the daemon at start
  w.duration("check_ttl", c.check_ttl);
  w.duration("deregister_critical_after", c.deregister_critical_after);
  w.duration("reconcile_interval", c.reconcile_interval);
  w.duration("request_timeout", c.request_timeout);
  if (c.weights) {
    w.key("weights");
    w.out() << YAML::Flow << YAML::BeginMap;
    w.integer("passing", c.weights->passing);
    w.integer("warning", c.weights->warning);
    w.out() << YAML::EndMap;
  }
  write_tls(w, c.tls, /*consul=*/true);
  w.end_map();
}

void write_eureka(Writer& w, const EurekaSpec& e) {
  w.begin_map("eureka");
  std::vector<std::string> urls;
  for (const EurekaServer& s : e.servers) urls.push_back(s.url);
  w.list("urls", urls);
  w.duration("renewal_interval", e.renewal_interval);
  w.duration("lease_duration", e.lease_duration);
  w.duration("request_timeout", e.request_timeout);
  if (!e.username.empty()) {
    w.text("username", e.username);
    if (!e.password_file.empty()) {
      w.text("password_file", e.password_file);
    } else {
      w.comment("password from " + e.password_source);  // the name of the variable, not its value
    }
  }
  write_tls(w, e.tls, /*consul=*/false);
  w.end_map();
}

void write_nacos(Writer& w, const NacosSpec& n) {
  w.begin_map("nacos");
  w.list("servers", n.servers);
  w.text("namespace", n.namespace_id);
  w.text("group", n.group);
  w.text("cluster", n.cluster);
  w.number("weight", n.weight);
  w.duration("request_timeout", n.request_timeout);
  if (!n.username.empty()) {
    w.text("username", n.username);
    if (!n.password_file.empty()) {
      w.text("password_file", n.password_file);
    } else {
      w.comment("password from " + n.password_source);  // the name of the variable, not its value
    }
  }
  write_tls(w, n.tls, /*consul=*/false);
  w.end_map();
}

// The registry in use: its section only (the other one, if the manifest had it, is not used).
void write_registry(Writer& w, const RegistrySpec& r) {
  w.begin_map("registry");
  w.word("kind", to_string(r.kind));
  if (r.kind == RegistryKind::Etcd) write_etcd(w, r.etcd);
  if (r.kind == RegistryKind::Consul) write_consul(w, r.consul);
  if (r.kind == RegistryKind::ZooKeeper) write_zookeeper(w, r.zookeeper);
  if (r.kind == RegistryKind::Eureka) write_eureka(w, r.eureka);
  if (r.kind == RegistryKind::Nacos) write_nacos(w, r.nacos);
  w.begin_map("backoff");
  w.duration("initial", r.backoff.initial);
  w.duration("max", r.backoff.max);
  w.number("multiplier", r.backoff.multiplier);
  w.number("jitter", r.backoff.jitter);
  w.end_map();
  w.end_map();
}

void write_service(Writer& w, const ServiceSpec& s, const ProbeSpec& defaults) {
  YAML::Emitter& out = w.out();
  out << YAML::BeginMap;
  w.text("name", s.name);
  w.text("id", s.id);
  w.text("address", s.address);
  w.integer("port", s.port);
  w.list("tags", s.tags);
  w.key("meta");
  if (s.meta.empty()) {
    out << YAML::Flow;
  }
  out << YAML::BeginMap;
  for (const auto& [k, v] : s.meta) {
    out << YAML::Key << k << YAML::Value << escape_interpolation(v);
  }
  out << YAML::EndMap;
  write_probe(w, s.probe, /*per_service=*/true, defaults.tls.enabled);
  out << YAML::EndMap;
}

}  // namespace

std::string default_service_id(const std::string& name, const std::string& address,
                               std::uint16_t port) {
  std::string id = name + "-" + address + "-" + std::to_string(port);
  for (char& c : id) {
    bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '.' || c == '-';
    if (!keep) c = '-';
  }
  return id;
}

std::string default_probe_target(const std::string& address, std::uint16_t port) {
  return join_host_port(address, port);
}

std::string render_effective(const Manifest& m) {
  YAML::Emitter out;
  out.SetIndent(2);
  Writer w(out);
  if (!m.source.empty()) {
    out << YAML::Comment("effective configuration of " + m.source + ", defaults filled in");
  }
  out << YAML::BeginMap;

  write_registry(w, m.registry);

  w.begin_map("defaults");
  write_probe(w, m.default_probe, /*per_service=*/false);
  w.end_map();

  w.key("services");
  if (m.services.empty()) out << YAML::Flow;
  out << YAML::BeginSeq;
  for (const ServiceSpec& s : m.services) write_service(w, s, m.default_probe);
  out << YAML::EndSeq;

  w.duration("drain", m.drain);
  w.duration("shutdown_timeout", m.shutdown_timeout);
  if (!m.status.listen.empty() || !m.status.control_socket.empty()) {
    w.begin_map("status");
    if (!m.status.listen.empty()) w.text("listen", m.status.listen);
    if (m.status.allow_remote) w.word("allow_remote", "true");
    if (!m.status.control_socket.empty()) w.text("control_socket", m.status.control_socket);
    w.end_map();
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace registrar::config
