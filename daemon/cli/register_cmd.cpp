// `grpc-registrar register`: a manifest built from flags alone, then the same life cycle as
// `run`. The flags become manifest text that goes through the manifest parser, so every value is
// validated exactly as in a file; errors name the flag instead of a manifest position.
#include <unistd.h>

#include "cli/commands.hpp"
#include "cli/flag_manifest.hpp"
#include "cli/registry_options.hpp"
#include "config/duration.hpp"
#include "config/error.hpp"
#include "config/interpolate.hpp"
#include "config/manifest_parser.hpp"

namespace registrar::cli {

void add_register_options(CLI::App& cmd, RegisterOptions& o) {
  add_registry_flags(cmd, o.registry, RegistryFlagsFor::Register);
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
  cmd.add_option("--drain", o.drain, "Wait after deregistering, before exiting (default 0s)")
      ->type_name("DURATION");
  cmd.add_option("--shutdown-timeout", o.shutdown_timeout,
                 "Bound on deregistration at exit (default 5s)")
      ->type_name("DURATION");
}

namespace {

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
  const std::string registry = registry_yaml(o.registry, error);
  if (registry.empty()) return std::nullopt;
  const std::string service = service_yaml(o, error);
  if (service.empty()) return std::nullopt;
  std::string y = registry + service;
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
    error = flag_error(e);
    return std::nullopt;
  }
}

}  // namespace registrar::cli
