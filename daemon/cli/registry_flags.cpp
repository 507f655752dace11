#include "cli/registry_flags.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli/exit_codes.hpp"
#include "cli/flag_duration.hpp"
#include "cli/registry_options.hpp"
#include "config/duration.hpp"
#include "config/enums.hpp"
#include "config/error.hpp"
#include "config/interpolate.hpp"
#include "config/manifest_parser.hpp"
#include "discovery/factory.hpp"

namespace registrar::cli {

void add_read_options(CLI::App& cmd, ReadOptions& o) {
  cmd.add_option("name", o.name, "The service name in the registry")->type_name("NAME")->required();
  // The registry flags of register and deregister, with the same meaning (one declaration).
  add_registry_flags(cmd, o.registry, RegistryFlagsFor::Read);
  cmd.add_option("--tag", o.tags, "Only instances carrying this tag (repeatable: all of them)")
      ->type_name("TAG");
  cmd.add_flag("--healthy-only,!--all", o.healthy_only,
               "Only passing instances (the default); --all lists every instance with its health")
      ->capture_default_str();
  cmd.add_option("--output,-o", o.output,
                 "table (for people), json (one object per line) or addrs (host:port per line)")
      ->check(CLI::IsMember({"table", "json", "addrs"}))
      ->capture_default_str();
  cmd.add_option("--timeout", o.timeout, "Bound on each request to the registry")
      ->type_name("DURATION")
      ->capture_default_str();
}

std::optional<ReadSetup> read_setup(const ReadOptions& o, const std::string& config_path,
                                    bool config_given, const std::string& who, int& exit_code) {
  auto usage = [&](const std::string& message) -> std::optional<ReadSetup> {
    std::fprintf(stderr, "%s: %s\n", who.c_str(), message.c_str());
    exit_code = kExitUsage;
    return std::nullopt;
  };
  ReadSetup s;
  std::string why;
  const auto timeout = flag_duration("--timeout", o.timeout, why);
  if (!timeout) return usage(why);
  s.timeout = *timeout;
  if (o.name.empty()) return usage("NAME must not be empty");
  const bool from_flags = backend_chosen(o.registry);
  if (from_flags && config_given)
    return usage("-c and the registry flags (--etcd, --consul, ...) exclude each other");
  if (from_flags) {
    std::string error;
    auto spec = registry_from_flags(o.registry, error);
    if (!spec) return usage(error);
    s.registry = std::move(*spec);
    if (!discovery::has_reader(s.registry.kind))
      return usage("--" + std::string(config::to_string(s.registry.kind)) +
                   ": no reader for this registry in this build");
  } else {
    if (backend_flag_given(o.registry))
      return usage(
          "registry flags need --etcd, --consul, --zookeeper, --eureka or --nacos (else the "
          "manifest's registry is read)");
    try {
      s.registry = config::load_manifest(config_path).registry;
    } catch (const config::ConfigError& e) {
      std::fprintf(stderr, "%s: %s\n", who.c_str(), e.what());
      exit_code = kExitConfig;
      return std::nullopt;
    }
    if (!discovery::has_reader(s.registry.kind)) {
      std::fprintf(stderr, "%s: %s: registry.kind %s has no reader in this build\n", who.c_str(),
                   config_path.c_str(), std::string(config::to_string(s.registry.kind)).c_str());
      exit_code = kExitConfig;
      return std::nullopt;
    }
  }
  // Each request of the reader is bounded by --timeout (a watch's blocking queries add their
  // wait to it), a little less, so that `resolve`'s overall deadline of --timeout (which also
  // covers resolving names and handshakes) comes after the client's explained failure.
  const auto request_timeout =
      s.timeout - std::min<config::Duration>(s.timeout / 10, config::Duration(200));
  s.registry.etcd.dial_timeout = request_timeout;
  s.registry.consul.request_timeout = request_timeout;
  s.registry.eureka.request_timeout = request_timeout;
  s.registry.nacos.request_timeout = request_timeout;
  // The ZooKeeper reader bounds connecting and each read by the session timeout it asks for.
  s.registry.zookeeper.session_timeout = request_timeout;
  s.query = discovery::Query{o.name, o.tags, o.healthy_only};
  return s;
}

std::string describe_registry(const config::RegistrySpec& spec) {
  if (spec.kind == config::RegistryKind::Consul) return "Consul agent at " + spec.consul.address;
  auto joined = [](const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
    return out;
  };
  if (spec.kind == config::RegistryKind::ZooKeeper)
    return "ZooKeeper at " + joined(spec.zookeeper.servers);
  if (spec.kind == config::RegistryKind::Nacos) return "Nacos at " + joined(spec.nacos.servers);
  if (spec.kind == config::RegistryKind::Eureka) {
    std::vector<std::string> urls;
    for (const auto& server : spec.eureka.servers) urls.push_back(server.url);
    return "Eureka at " + joined(urls);
  }
  std::string endpoints;
  for (const auto& e : spec.etcd.endpoints) endpoints += (endpoints.empty() ? "" : ",") + e;
  return "etcd at " + endpoints;
}

StderrLog::StderrLog(const std::string& who) : previous_(spdlog::default_logger()) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_st>();
  sink->set_pattern(who + ": %v");
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(who, sink));
}

StderrLog::~StderrLog() {
  spdlog::set_default_logger(previous_);
}

}  // namespace registrar::cli
