// `grpc-registrar register`: a manifest built from flags alone, then the same life cycle as
// `run`. The flags become manifest text that goes through the manifest parser, so every value is
// validated exactly as in a file; errors name the flag instead of a manifest position.
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/flag_manifest.hpp"
#include "config/duration.hpp"
#include "config/error.hpp"
#include "config/interpolate.hpp"
#include "config/manifest_parser.hpp"

namespace registrar::cli {

void add_register_options(CLI::App& cmd, RegisterOptions& o) {
  auto* etcd =
      cmd.add_option("--etcd", o.etcd, "etcd endpoint host:port (repeatable, or comma-separated)")
          ->type_name("HOST:PORT")
          ->delimiter(',');
  auto* consul = cmd.add_option("--consul", o.consul,
                                "Register with the Consul agent at URL (default $CONSUL_HTTP_ADDR, "
                                "then http://127.0.0.1:8500)")
                     ->type_name("[URL]")
                     ->expected(0, 1);
  auto* zookeeper = cmd.add_option("--zookeeper", o.zookeeper,
                                   "ZooKeeper server host:port (repeatable, or comma-separated)")
                        ->type_name("HOST:PORT")
                        ->delimiter(',');
  auto* eureka = cmd.add_option("--eureka", o.eureka,
                                "Register with the Eureka server at URL, e.g. "
                                "http://eureka:8761/eureka (repeatable, tried in order)")
                     ->type_name("URL")
                     ->delimiter(',');
  etcd->excludes(consul);
  consul->excludes(etcd);
  zookeeper->excludes(etcd);
  zookeeper->excludes(consul);
  eureka->excludes(etcd);
  eureka->excludes(consul);
  eureka->excludes(zookeeper);
  cmd.add_option("--name", o.name, "Service name in the registry")->required();
  cmd.add_option("--id", o.id, "Instance id (default <name>-<address>-<port>)");
  cmd.add_option("--address", o.address, "Address clients should dial")->required();
  cmd.add_option("--port", o.port, "Port clients should dial")->required();
  cmd.add_option("--tag", o.tags, "A tag (repeatable)")->type_name("TAG");
  cmd.add_option("--meta", o.meta, "Metadata key=value (repeatable)")->type_name("KEY=VALUE");
  cmd.add_option("--probe-target", o.probe_target, "host:port to probe (default address:port)");
  cmd.add_option("--probe-service", o.probe_service,
                 "grpc.health.v1 service name to probe (default \"\": the whole server)");
  cmd.add_option("--probe-mode", o.probe_mode, "watch (default) or poll")
      ->check(CLI::IsMember({"watch", "poll"}));
  cmd.add_option("--probe-interval", o.probe_interval, "Probe interval (default 1s)")
      ->type_name("DURATION");
  cmd.add_option("--probe-timeout", o.probe_timeout, "Probe deadline (default 1s)")
      ->type_name("DURATION");
  cmd.add_option("--rise", o.rise, "Successes in a row to become healthy (default 1)");
  cmd.add_option("--fall", o.fall, "Failures in a row to become unhealthy (default 1)");
  cmd.add_option("--ttl", o.ttl,
                 "etcd lease TTL, Consul check TTL or ZooKeeper session timeout (default 10s), or "
                 "Eureka lease duration (default 90s, renewed every third of it)")
      ->type_name("DURATION");
  cmd.add_option("--prefix", o.prefix,
                 "etcd key prefix or ZooKeeper base path (default /services)");
  cmd.add_option("--format", o.format,
                 "etcd key format: json (default), gokit or grpc-go; ZooKeeper entry format: "
                 "curator (default), gokit, serverset or nerve")
      ->check(CLI::IsMember({"json", "gokit", "grpc-go", "curator", "serverset", "nerve"}));
  cmd.add_option("--token-file", o.token_file,
                 "File holding the Consul ACL token (else $CONSUL_HTTP_TOKEN_FILE, "
                 "$CONSUL_HTTP_TOKEN)")
      ->type_name("FILE");
  cmd.add_option("--drain", o.drain, "Wait after deregistering, before exiting (default 0s)")
      ->type_name("DURATION");
  cmd.add_option("--shutdown-timeout", o.shutdown_timeout,
                 "Bound on deregistration at exit (default 5s)")
      ->type_name("DURATION");
}

namespace {

// The manifest's registry section, from --etcd, --consul or --zookeeper and the flags of that
// backend.
std::string registry_yaml(const RegisterOptions& o) {
  std::string y = "registry:\n";
  if (!o.zookeeper.empty()) {
    y += "  kind: zookeeper\n  zookeeper:\n    servers: [";
    for (std::size_t i = 0; i < o.zookeeper.size(); ++i)
      y += (i ? ", " : "") + yaml_literal(o.zookeeper[i]);
    y += "]\n";
    if (!o.prefix.empty()) y += "    base_path: " + yaml_literal(o.prefix) + "\n";
    if (!o.format.empty()) y += "    format: " + yaml_literal(o.format) + "\n";
    if (!o.ttl.empty()) y += "    session_timeout: " + yaml_literal(o.ttl) + "\n";
  } else if (!o.etcd.empty()) {
    y += "  kind: etcd\n  etcd:\n    endpoints: [";
    for (std::size_t i = 0; i < o.etcd.size(); ++i) y += (i ? ", " : "") + yaml_literal(o.etcd[i]);
    y += "]\n";
    if (!o.prefix.empty()) y += "    prefix: " + yaml_literal(o.prefix) + "\n";
    if (!o.format.empty()) y += "    format: " + yaml_literal(o.format) + "\n";
    if (!o.ttl.empty()) y += "    lease_ttl: " + yaml_literal(o.ttl) + "\n";
  } else if (!o.eureka.empty()) {
    y += "  kind: eureka\n  eureka:\n    urls: [";
    for (std::size_t i = 0; i < o.eureka.size(); ++i)
      y += (i ? ", " : "") + yaml_literal(o.eureka[i]);
    y += "]\n";
    if (!o.ttl.empty()) {
      y += "    lease_duration: " + yaml_literal(o.ttl) + "\n";
      // Renewed every third of the lease (at least 1s), each request within half of that.
      if (auto ttl = config::parse_duration(o.ttl)) {
        const auto renewal = std::max<config::Duration>(std::chrono::seconds(1), *ttl / 3);
        y += "    renewal_interval: " + yaml_literal(config::format_duration(renewal)) + "\n";
        y += "    request_timeout: " +
             yaml_literal(config::format_duration(
                 std::min<config::Duration>(std::chrono::seconds(3), renewal / 2))) +
             "\n";
      }
    }
  } else {
    std::string consul;
    if (!o.consul->empty()) consul += "    address: " + yaml_literal(*o.consul) + "\n";
    if (!o.ttl.empty()) {
      consul += "    check_ttl: " + yaml_literal(o.ttl) + "\n";
      // Each request must fit in half a TTL: a short --ttl shortens the request timeout (3s).
      if (auto ttl = config::parse_duration(o.ttl); ttl && *ttl < std::chrono::seconds(6)) {
        consul += "    request_timeout: " + yaml_literal(config::format_duration(*ttl / 2)) + "\n";
      }
    }
    if (!o.token_file.empty()) consul += "    token_file: " + yaml_literal(o.token_file) + "\n";
    y += "  kind: consul\n";
    y += consul.empty() ? "  consul: {}\n" : "  consul:\n" + consul;
  }
  return y;
}

// The manifest's one service; "" with `error` set on a bad --meta.
std::string service_yaml(const RegisterOptions& o, std::string& error) {
  std::string y = "services:\n";
  y += "  - name: " + yaml_literal(o.name) + "\n";
  if (!o.id.empty()) y += "    id: " + yaml_literal(o.id) + "\n";
  y += "    address: " + yaml_literal(o.address) + "\n";
  y += "    port: " + yaml_literal(std::to_string(o.port)) + "\n";
  y += "    tags: [";
  for (std::size_t i = 0; i < o.tags.size(); ++i) y += (i ? ", " : "") + yaml_literal(o.tags[i]);
  y += "]\n";
  y += "    meta: {";
  for (std::size_t i = 0; i < o.meta.size(); ++i) {
    const auto eq = o.meta[i].find('=');
    if (eq == std::string::npos || eq == 0) {
      error = "--meta: expected KEY=VALUE, got \"" + o.meta[i] + "\"";
      return "";
    }
    y += (i ? ", " : "") + yaml_literal(o.meta[i].substr(0, eq)) + ": " +
         yaml_literal(o.meta[i].substr(eq + 1));
  }
  y += "}\n";
  y += "    probe:\n";
  y += "      service: " + yaml_literal(o.probe_service) + "\n";
  if (!o.probe_target.empty()) y += "      target: " + yaml_literal(o.probe_target) + "\n";
  if (!o.probe_mode.empty()) y += "      mode: " + yaml_literal(o.probe_mode) + "\n";
  if (!o.probe_interval.empty()) y += "      interval: " + yaml_literal(o.probe_interval) + "\n";
  if (!o.probe_timeout.empty()) y += "      timeout: " + yaml_literal(o.probe_timeout) + "\n";
  if (o.rise != 0) y += "      rise: " + yaml_literal(std::to_string(o.rise)) + "\n";
  if (o.fall != 0) y += "      fall: " + yaml_literal(std::to_string(o.fall)) + "\n";
  return y;
}

}  // namespace

std::optional<config::Manifest> manifest_from_flags(const RegisterOptions& o, std::string& error) {
  if (o.etcd.empty() && !o.consul && o.zookeeper.empty() && o.eureka.empty()) {
    error = "--etcd, --consul, --zookeeper or --eureka is required";
    return std::nullopt;
  }
  if (!o.zookeeper.empty() && !o.token_file.empty()) {
    error = "--token-file: only with --consul";
    return std::nullopt;
  }
  if ((o.consul || !o.eureka.empty()) && (!o.prefix.empty() || !o.format.empty())) {
    error = std::string(o.prefix.empty() ? "--format" : "--prefix") + ": only with --etcd";
    return std::nullopt;
  }
  if ((!o.etcd.empty() || !o.eureka.empty()) && !o.token_file.empty()) {
    error = "--token-file: only with --consul";
    return std::nullopt;
  }
  const std::string service = service_yaml(o, error);
  if (service.empty()) return std::nullopt;
  std::string y = registry_yaml(o) + service;
  if (!o.drain.empty()) y += "drain: " + yaml_literal(o.drain) + "\n";
  if (!o.shutdown_timeout.empty())
    y += "shutdown_timeout: " + yaml_literal(o.shutdown_timeout) + "\n";

  try {
    config::Manifest m = config::parse_manifest(y, "<flags>", config::process_env());
    // Each `register` owns exactly its one registration: two on one host must not take each
    // other's entries for stale ones of their own.
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    const std::string owner = std::string(host) + ":register/" + m.services.front().id;
    m.registry.etcd.owner = owner;
    m.registry.consul.owner = owner;
    m.registry.zookeeper.owner = owner;
    return m;
  } catch (const config::ConfigError& e) {
    // Keep the parser's reason, name the flag instead of a position in text nobody wrote.
    const std::string prefix = config::format_config_error(e.where, e.field, "");
    std::string reason = e.what();
    if (reason.rfind(prefix, 0) == 0) reason = reason.substr(prefix.size());
    error = flag_for_field(e.field) + ": " + reason;
    return std::nullopt;
  }
}

}  // namespace registrar::cli
