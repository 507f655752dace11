#include "cli/registry_flags.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli/exit_codes.hpp"
#include "cli/flag_duration.hpp"
#include "cli/flag_manifest.hpp"
#include "config/duration.hpp"
#include "config/enums.hpp"
#include "config/error.hpp"
#include "config/interpolate.hpp"
#include "config/manifest_parser.hpp"
#include "discovery/factory.hpp"

namespace registrar::cli {

namespace {

std::string etcd_yaml(const RegistryFlags& f) {
  std::string y = "  kind: etcd\n  etcd:\n    endpoints: [";
  for (std::size_t i = 0; i < f.etcd.size(); ++i) y += (i ? ", " : "") + yaml_literal(f.etcd[i]);
  y += "]\n";
  if (!f.prefix.empty()) y += "    prefix: " + yaml_literal(f.prefix) + "\n";
  if (!f.format.empty()) y += "    format: " + yaml_literal(f.format) + "\n";
  if (!f.etcd_ca_file.empty() || !f.etcd_cert_file.empty() || !f.etcd_key_file.empty() ||
      !f.etcd_server_name.empty()) {
    y += "    tls:\n";
    if (!f.etcd_ca_file.empty()) y += "      ca_file: " + yaml_literal(f.etcd_ca_file) + "\n";
    if (!f.etcd_cert_file.empty()) y += "      cert_file: " + yaml_literal(f.etcd_cert_file) + "\n";
    if (!f.etcd_key_file.empty()) y += "      key_file: " + yaml_literal(f.etcd_key_file) + "\n";
    if (!f.etcd_server_name.empty())
      y += "      server_name: " + yaml_literal(f.etcd_server_name) + "\n";
  }
  if (!f.etcd_user.empty()) y += "    username: " + yaml_literal(f.etcd_user) + "\n";
  if (!f.etcd_password_file.empty())
    y += "    password_file: " + yaml_literal(f.etcd_password_file) + "\n";
  return y;
}

std::string consul_yaml(const RegistryFlags& f) {
  std::string c;
  if (!f.consul->empty()) c += "    address: " + yaml_literal(*f.consul) + "\n";
  if (!f.token_file.empty()) c += "    token_file: " + yaml_literal(f.token_file) + "\n";
  return "  kind: consul\n" + (c.empty() ? std::string("  consul: {}\n") : "  consul:\n" + c);
}

// The registry section from the flags; nullopt with `error` naming the flag.
std::optional<config::RegistrySpec> registry_from_flags(const RegistryFlags& f,
                                                        std::string& error) {
  const bool etcd_only = !f.prefix.empty() || !f.format.empty() || !f.etcd_ca_file.empty() ||
                         !f.etcd_cert_file.empty() || !f.etcd_key_file.empty() ||
                         !f.etcd_server_name.empty() || !f.etcd_user.empty() ||
                         !f.etcd_password_file.empty();
  if (f.consul && etcd_only) {
    error = "--prefix, --format and the --etcd-* flags go with --etcd only";
    return std::nullopt;
  }
  if (!f.etcd.empty() && !f.token_file.empty()) {
    error = "--token-file: only with --consul";
    return std::nullopt;
  }
  const std::string yaml =
      "registry:\n" + (f.etcd.empty() ? consul_yaml(f) : etcd_yaml(f)) + "services: []\n";
  try {
    return config::parse_manifest(yaml, "<flags>", config::process_env()).registry;
  } catch (const config::ConfigError& e) {
    const std::string prefix = config::format_config_error(e.where, e.field, "");
    std::string reason = e.what();
    if (reason.rfind(prefix, 0) == 0) reason = reason.substr(prefix.size());
    error = flag_for_field(e.field) + ": " + reason;
    return std::nullopt;
  }
}

}  // namespace

void add_read_options(CLI::App& cmd, ReadOptions& o) {
  cmd.add_option("name", o.name, "The service name in the registry")->type_name("NAME")->required();
  RegistryFlags& r = o.registry;
  auto* etcd =
      cmd.add_option("--etcd", r.etcd, "Read etcd at host:port (repeatable, or comma-separated)")
          ->type_name("HOST:PORT")
          ->delimiter(',');
  auto* consul = cmd.add_option("--consul", r.consul,
                                "Read the Consul agent at URL (default $CONSUL_HTTP_ADDR, then "
                                "http://127.0.0.1:8500)")
                     ->type_name("[URL]")
                     ->expected(0, 1);
  etcd->excludes(consul);
  consul->excludes(etcd);
  cmd.add_option("--prefix", r.prefix, "etcd key prefix (default /services)");
  cmd.add_option("--format", r.format,
                 "etcd key format, i.e. where to read: json (default), gokit or grpc-go")
      ->check(CLI::IsMember({"json", "gokit", "grpc-go"}));
  cmd.add_option("--token-file", r.token_file,
                 "File holding the Consul ACL token (else $CONSUL_HTTP_TOKEN_FILE, "
                 "$CONSUL_HTTP_TOKEN)")
      ->type_name("FILE");
  cmd.add_option("--etcd-ca-file", r.etcd_ca_file, "etcd: TLS, trusting this CA bundle (PEM)")
      ->type_name("FILE");
  cmd.add_option("--etcd-cert-file", r.etcd_cert_file, "etcd: TLS client certificate (PEM)")
      ->type_name("FILE");
  cmd.add_option("--etcd-key-file", r.etcd_key_file, "etcd: its private key (PEM)")
      ->type_name("FILE");
  cmd.add_option("--etcd-server-name", r.etcd_server_name,
                 "etcd: TLS, the name the server certificate must carry");
  cmd.add_option("--etcd-user", r.etcd_user,
                 "etcd: authenticate as this user (password from --etcd-password-file, else "
                 "$ETCDCTL_PASSWORD)");
  cmd.add_option("--etcd-password-file", r.etcd_password_file, "etcd: file holding the password")
      ->type_name("FILE");
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
  const bool from_flags = !o.registry.etcd.empty() || o.registry.consul.has_value();
  if (from_flags && config_given) return usage("-c and --etcd/--consul exclude each other");
  if (from_flags) {
    std::string error;
    auto spec = registry_from_flags(o.registry, error);
    if (!spec) return usage(error);
    s.registry = std::move(*spec);
  } else {
    const RegistryFlags& r = o.registry;
    if (!r.prefix.empty() || !r.format.empty() || !r.token_file.empty() ||
        !r.etcd_ca_file.empty() || !r.etcd_cert_file.empty() || !r.etcd_key_file.empty() ||
        !r.etcd_server_name.empty() || !r.etcd_user.empty() || !r.etcd_password_file.empty())
      return usage("registry flags need --etcd or --consul (else the manifest's registry is read)");
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
