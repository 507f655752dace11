#include "cli/flag_manifest.hpp"

#include <nlohmann/json.hpp>
#include <utility>

#include "config/error.hpp"
#include "config/manifest_parser.hpp"

namespace registrar::cli {

std::string yaml_literal(const std::string& s) {
  return nlohmann::json(config::escape_interpolation(s))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string flag_for_field(const std::string& field) {
  // The first prefix that matches wins: a field before any shorter prefix of it.
  static const std::pair<const char*, const char*> kFlags[] = {
      {"registry.etcd.endpoints", "--etcd"},
      {"registry.etcd.prefix", "--prefix"},
      {"registry.etcd.format", "--format"},
      {"registry.etcd.tls.ca_file", "--etcd-ca-file"},
      {"registry.etcd.tls.cert_file", "--etcd-cert-file"},
      {"registry.etcd.tls.key_file", "--etcd-key-file"},
      {"registry.etcd.tls.server_name", "--etcd-server-name"},
      {"registry.etcd.tls", "--etcd-cert-file/--etcd-key-file"},
      {"registry.etcd.username", "--etcd-user"},
      {"registry.etcd.password_file", "--etcd-password-file"},
      {"registry.consul.address", "--consul"},
      {"registry.consul.token_file", "--token-file"},
      {"registry.consul.token", "CONSUL_HTTP_TOKEN"},
      {"registry.etcd.lease_ttl", "--ttl"},
      {"registry.zookeeper.auth.username", "--zookeeper-user"},
      {"registry.zookeeper.auth.password_file", "--zookeeper-password-file"},
      {"registry.zookeeper.auth", "--zookeeper-user"},
      {"registry.eureka.username", "--eureka-user"},
      {"registry.eureka.password_file", "--eureka-password-file"},
      {"registry.nacos.servers", "--nacos"},
      {"registry.nacos.namespace", "--nacos-namespace"},
      {"registry.nacos.group", "--nacos-group"},
      {"registry.nacos.username", "--nacos-user"},
      {"registry.nacos.password_file", "--nacos-password-file"},
      {"registry.zookeeper.servers", "--zookeeper"},
      {"registry.zookeeper.base_path", "--prefix"},
      {"registry.zookeeper.format", "--format"},
      {"registry.zookeeper.session_timeout", "--ttl"},
      {"registry.eureka.urls", "--eureka"},
      {"registry.eureka", "--ttl"},
      {"registry.consul.check_ttl", "--ttl"},
      {"registry.consul.request_timeout", "--ttl"},
      {"services[0].name", "--name"},
      {"services[0].id", "--id"},
      {"services[0].address", "--address"},
      {"services[0].port", "--port"},
      {"services[0].tags", "--tag"},
      {"services[0].meta", "--meta"},
      {"services[0].probe.target", "--probe-target"},
      {"services[0].probe.service", "--probe-service"},
      {"services[0].probe.mode", "--probe-mode"},
      {"services[0].probe.interval", "--probe-interval"},
      {"services[0].probe.timeout", "--probe-timeout"},
      {"services[0].probe.rise", "--rise"},
      {"services[0].probe.fall", "--fall"},
      {"services[0]", "--name/--address/--port"},
      {"drain", "--drain"},
      {"shutdown_timeout", "--shutdown-timeout"},
      {"status.listen", "--status-listen"},
  };
  for (const auto& [prefix, flag] : kFlags)
    if (field.rfind(prefix, 0) == 0) return flag;
  return field;
}

std::string flag_error(const config::ConfigError& e) {
  const std::string prefix = config::format_config_error(e.where, e.field, "");
  std::string reason = e.what();
  if (reason.rfind(prefix, 0) == 0) reason = reason.substr(prefix.size());
  // The reason may name another setting ("needs a password: set registry.nacos.password_file"):
  // name its flag there too.
  for (const char* setting :
       {"registry.etcd.password_file", "registry.zookeeper.auth.password_file",
        "registry.eureka.password_file", "registry.nacos.password_file",
        "registry.etcd.tls.ca_file", "registry.etcd.tls.cert_file", "registry.etcd.tls.key_file"}) {
    const std::string name(setting);
    if (auto at = reason.find(name); at != std::string::npos)
      reason.replace(at, name.size(), flag_for_field(name));
  }
  return flag_for_field(e.field) + ": " + reason;
}

}  // namespace registrar::cli
