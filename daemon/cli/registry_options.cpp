#include "cli/registry_options.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include "cli/flag_manifest.hpp"
#include "config/duration.hpp"
#include "config/error.hpp"
#include "config/interpolate.hpp"
#include "config/manifest_parser.hpp"

namespace registrar::cli {

namespace {

enum Backend : unsigned { Etcd = 1, Consul = 2, ZooKeeper = 4, Eureka = 8, Nacos = 16 };

// A flag of one or more backends: given with another backend, it is refused by name.
struct BackendFlag {
  const char* name;
  unsigned backends;
  bool (*given)(const RegistryFlags&);
};

// The data table: every backend-specific flag and the backends it goes with.
const BackendFlag kBackendFlags[] = {
    {"--prefix", Etcd | ZooKeeper, [](const RegistryFlags& f) { return !f.prefix.empty(); }},
    {"--format", Etcd | ZooKeeper, [](const RegistryFlags& f) { return !f.format.empty(); }},
    {"--ttl", Etcd | Consul | ZooKeeper | Eureka,
     [](const RegistryFlags& f) { return !f.ttl.empty(); }},
    {"--token-file", Consul, [](const RegistryFlags& f) { return !f.token_file.empty(); }},
    {"--etcd-ca-file", Etcd, [](const RegistryFlags& f) { return !f.etcd_ca_file.empty(); }},
    {"--etcd-cert-file", Etcd, [](const RegistryFlags& f) { return !f.etcd_cert_file.empty(); }},
    {"--etcd-key-file", Etcd, [](const RegistryFlags& f) { return !f.etcd_key_file.empty(); }},
    {"--etcd-server-name", Etcd,
     [](const RegistryFlags& f) { return !f.etcd_server_name.empty(); }},
    {"--etcd-user", Etcd, [](const RegistryFlags& f) { return !f.etcd_user.empty(); }},
    {"--etcd-password-file", Etcd,
     [](const RegistryFlags& f) { return !f.etcd_password_file.empty(); }},
    {"--zookeeper-user", ZooKeeper,
     [](const RegistryFlags& f) { return !f.zookeeper_user.empty(); }},
    {"--zookeeper-password-file", ZooKeeper,
     [](const RegistryFlags& f) { return !f.zookeeper_password_file.empty(); }},
    {"--eureka-user", Eureka, [](const RegistryFlags& f) { return !f.eureka_user.empty(); }},
    {"--eureka-password-file", Eureka,
     [](const RegistryFlags& f) { return !f.eureka_password_file.empty(); }},
    {"--nacos-namespace", Nacos, [](const RegistryFlags& f) { return !f.nacos_namespace.empty(); }},
    {"--nacos-group", Nacos, [](const RegistryFlags& f) { return !f.nacos_group.empty(); }},
    {"--nacos-user", Nacos, [](const RegistryFlags& f) { return !f.nacos_user.empty(); }},
    {"--nacos-password-file", Nacos,
     [](const RegistryFlags& f) { return !f.nacos_password_file.empty(); }},
};

std::string backend_names(unsigned backends) {
  std::vector<std::string> names;
  for (auto [bit, name] : {std::pair{Etcd, "--etcd"}, std::pair{Consul, "--consul"},
                           std::pair{ZooKeeper, "--zookeeper"}, std::pair{Eureka, "--eureka"},
                           std::pair{Nacos, "--nacos"}})
    if ((backends & bit) != 0) names.push_back(name);
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i)
    out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return out;
}

std::string list(const std::vector<std::string>& items) {
  std::string y = "[";
  for (std::size_t i = 0; i < items.size(); ++i) y += (i ? ", " : "") + yaml_literal(items[i]);
  return y + "]";
}

// "    key: value\n" when value is not empty.
std::string line(const char* key, const std::string& value, const char* indent = "    ") {
  return value.empty() ? "" : std::string(indent) + key + ": " + yaml_literal(value) + "\n";
}

std::string etcd_yaml(const RegistryFlags& f) {
  std::string y = "  kind: etcd\n  etcd:\n    endpoints: " + list(f.etcd) + "\n";
  y += line("prefix", f.prefix) + line("format", f.format) + line("lease_ttl", f.ttl);
  const std::string tls = line("ca_file", f.etcd_ca_file, "      ") +
                          line("cert_file", f.etcd_cert_file, "      ") +
                          line("key_file", f.etcd_key_file, "      ") +
                          line("server_name", f.etcd_server_name, "      ");
  if (!tls.empty()) y += "    tls:\n" + tls;
  return y + line("username", f.etcd_user) + line("password_file", f.etcd_password_file);
}

std::string consul_yaml(const RegistryFlags& f) {
  std::string c = f.consul->empty() ? "" : line("address", *f.consul);
  if (!f.ttl.empty()) {
    c += line("check_ttl", f.ttl);
    // Each request must fit in half a TTL: a short --ttl shortens the request timeout (3s).
    if (auto ttl = config::parse_duration(f.ttl); ttl && *ttl < std::chrono::seconds(6))
      c += line("request_timeout", config::format_duration(*ttl / 2));
  }
  c += line("token_file", f.token_file);
  return "  kind: consul\n" + (c.empty() ? std::string("  consul: {}\n") : "  consul:\n" + c);
}

std::string zookeeper_yaml(const RegistryFlags& f) {
  std::string y = "  kind: zookeeper\n  zookeeper:\n    servers: " + list(f.zookeeper) + "\n";
  y += line("base_path", f.prefix) + line("format", f.format) + line("session_timeout", f.ttl);
  if (!f.zookeeper_user.empty() || !f.zookeeper_password_file.empty())
    y += "    auth:\n" + line("username", f.zookeeper_user, "      ") +
         line("password_file", f.zookeeper_password_file, "      ");
  return y;
}

std::string eureka_yaml(const RegistryFlags& f) {
  std::string y = "  kind: eureka\n  eureka:\n    urls: " + list(f.eureka) + "\n";
  if (!f.ttl.empty()) {
    y += line("lease_duration", f.ttl);
    // Renewed every third of the lease (at least 1s), each request within half of that.
    if (auto ttl = config::parse_duration(f.ttl)) {
      const auto renewal = std::max<config::Duration>(std::chrono::seconds(1), *ttl / 3);
      y += line("renewal_interval", config::format_duration(renewal));
      y += line("request_timeout", config::format_duration(std::min<config::Duration>(
                                       std::chrono::seconds(3), renewal / 2)));
    }
  }
  return y + line("username", f.eureka_user) + line("password_file", f.eureka_password_file);
}

std::string nacos_yaml(const RegistryFlags& f) {
  std::string y = "  kind: nacos\n  nacos:\n    servers: " + list(f.nacos) + "\n";
  y += line("namespace", f.nacos_namespace) + line("group", f.nacos_group);
  return y + line("username", f.nacos_user) + line("password_file", f.nacos_password_file);
}

}  // namespace

bool backend_chosen(const RegistryFlags& f) {
  return !f.etcd.empty() || f.consul.has_value() || !f.zookeeper.empty() || !f.eureka.empty() ||
         !f.nacos.empty();
}

bool backend_flag_given(const RegistryFlags& f) {
  return std::any_of(std::begin(kBackendFlags), std::end(kBackendFlags),
                     [&](const BackendFlag& flag) { return flag.given(f); });
}

void add_registry_flags(CLI::App& cmd, RegistryFlags& f, RegistryFlagsFor use) {
  const bool reg = use == RegistryFlagsFor::Register;
  const std::string with = reg                                   ? "Register with "
                           : use == RegistryFlagsFor::Deregister ? "Deregister from "
                                                                 : "Read ";
  auto* etcd =
      cmd.add_option("--etcd", f.etcd, with + "etcd at host:port (repeatable, or comma-separated)")
          ->type_name("HOST:PORT")
          ->delimiter(',');
  auto* consul = cmd.add_option("--consul", f.consul,
                                with +
                                    "the Consul agent at URL (default $CONSUL_HTTP_ADDR, then "
                                    "http://127.0.0.1:8500)")
                     ->type_name("[URL]")
                     ->expected(0, 1);
  auto* zookeeper = cmd.add_option("--zookeeper", f.zookeeper,
                                   with + "ZooKeeper at host:port (repeatable, or comma-separated)")
                        ->type_name("HOST:PORT")
                        ->delimiter(',');
  auto* eureka = cmd.add_option("--eureka", f.eureka,
                                with +
                                    "the Eureka server at URL, e.g. http://eureka:8761/eureka "
                                    "(repeatable, tried in order)")
                     ->type_name("URL")
                     ->delimiter(',');
  auto* nacos =
      cmd.add_option("--nacos", f.nacos, with + "Nacos at host:port (repeatable, tried in order)")
          ->type_name("HOST:PORT")
          ->delimiter(',');
  const std::vector<CLI::Option*> kinds{etcd, consul, zookeeper, eureka, nacos};
  for (CLI::Option* a : kinds)
    for (CLI::Option* b : kinds)
      if (a != b) a->excludes(b);
  cmd.add_option("--prefix", f.prefix,
                 "etcd key prefix or ZooKeeper base path (default /services)");
  cmd.add_option("--format", f.format,
                 "etcd key format: json (default), gokit or grpc-go; ZooKeeper entry format: "
                 "curator (default), gokit, serverset or nerve")
      ->check(CLI::IsMember({"json", "gokit", "grpc-go", "curator", "serverset", "nerve"}));
  if (reg)
    cmd.add_option("--ttl", f.ttl,
                   "etcd lease TTL, Consul check TTL or ZooKeeper session timeout (default 10s), "
                   "or Eureka lease duration (default 90s, renewed every third of it)")
        ->type_name("DURATION");
  cmd.add_option("--token-file", f.token_file,
                 "Consul: file holding the ACL token (else $CONSUL_HTTP_TOKEN_FILE, "
                 "$CONSUL_HTTP_TOKEN)")
      ->type_name("FILE");
  cmd.add_option("--etcd-ca-file", f.etcd_ca_file, "etcd: TLS, trusting this CA bundle (PEM)")
      ->type_name("FILE");
  cmd.add_option("--etcd-cert-file", f.etcd_cert_file, "etcd: TLS client certificate (PEM)")
      ->type_name("FILE");
  cmd.add_option("--etcd-key-file", f.etcd_key_file, "etcd: its private key (PEM)")
      ->type_name("FILE");
  cmd.add_option("--etcd-server-name", f.etcd_server_name,
                 "etcd: TLS, the name the server certificate must carry");
  cmd.add_option("--etcd-user", f.etcd_user,
                 "etcd: authenticate as this user (password from --etcd-password-file, else "
                 "$ETCDCTL_PASSWORD)");
  cmd.add_option("--etcd-password-file", f.etcd_password_file, "etcd: file holding the password")
      ->type_name("FILE");
  cmd.add_option("--zookeeper-user", f.zookeeper_user,
                 "ZooKeeper: digest authentication as this user (password from "
                 "--zookeeper-password-file, else $REGISTRAR_ZOOKEEPER_PASSWORD)");
  cmd.add_option("--zookeeper-password-file", f.zookeeper_password_file,
                 "ZooKeeper: file holding the password")
      ->type_name("FILE");
  cmd.add_option("--eureka-user", f.eureka_user,
                 "Eureka: HTTP basic auth user (password from --eureka-password-file, else "
                 "$EUREKA_PASSWORD)");
  cmd.add_option("--eureka-password-file", f.eureka_password_file,
                 "Eureka: file holding the password")
      ->type_name("FILE");
  cmd.add_option("--nacos-namespace", f.nacos_namespace,
                 "Nacos: the namespace's id (default public)");
  cmd.add_option("--nacos-group", f.nacos_group, "Nacos: the group (default DEFAULT_GROUP)");
  cmd.add_option("--nacos-user", f.nacos_user,
                 "Nacos: log in as this user (password from --nacos-password-file, else "
                 "$NACOS_PASSWORD)");
  cmd.add_option("--nacos-password-file", f.nacos_password_file, "Nacos: file holding the password")
      ->type_name("FILE");
}

std::string registry_yaml(const RegistryFlags& f, std::string& error) {
  const unsigned backend = !f.etcd.empty()        ? Etcd
                           : f.consul.has_value() ? Consul
                           : !f.zookeeper.empty() ? ZooKeeper
                           : !f.eureka.empty()    ? Eureka
                           : !f.nacos.empty()     ? Nacos
                                                  : 0u;
  if (backend == 0) {
    error = "--etcd, --consul, --zookeeper, --eureka or --nacos is required";
    return "";
  }
  for (const BackendFlag& flag : kBackendFlags) {
    if ((flag.backends & backend) == 0 && flag.given(f)) {
      error = std::string(flag.name) + ": only with " + backend_names(flag.backends);
      return "";
    }
  }
  switch (backend) {
    case Etcd:
      return "registry:\n" + etcd_yaml(f);
    case Consul:
      return "registry:\n" + consul_yaml(f);
    case ZooKeeper:
      return "registry:\n" + zookeeper_yaml(f);
    case Eureka:
      return "registry:\n" + eureka_yaml(f);
    default:
      return "registry:\n" + nacos_yaml(f);
  }
}

std::optional<config::RegistrySpec> registry_from_flags(const RegistryFlags& f,
                                                        std::string& error) {
  const std::string yaml = registry_yaml(f, error);
  if (yaml.empty()) return std::nullopt;
  try {
    return config::parse_manifest(yaml + "services: []\n", "<flags>", config::process_env())
        .registry;
  } catch (const config::ConfigError& e) {
    error = flag_error(e);
    return std::nullopt;
  }
}

}  // namespace registrar::cli
