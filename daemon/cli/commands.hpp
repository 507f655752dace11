// The subcommands. Each returns the process exit code (cli/exit_codes.hpp). Each subcommand's
// flags are declared next to its implementation (add_*), so that `--help` and the code agree.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/logging.hpp"
#include "config/manifest.hpp"

namespace registrar::probe {
struct TlsSettingNames;
}

namespace registrar::cli {

struct RunOptions {
  std::string config_path;
  LogOptions log;
  // --status-listen: overrides the manifest's status.listen ("" = keep the manifest's).
  std::string status_listen;
  bool status_allow_remote = false;  // --status-allow-remote: a non-loopback --status-listen
  std::string control_socket;        // --control-socket: overrides status.control_socket
  // Set by `register`: the manifest built from flags; config_path is then unused and there is
  // nothing to reload.
  std::optional<config::Manifest> manifest;
};

// `grpc-registrar run`: the daemon. Returns when deregistration is finished.
int run_daemon(const RunOptions& options);

// `grpc-registrar check`: validate the manifest and print the effective configuration.
int check_manifest(const std::string& config_path);

// `grpc-registrar register`: one registration from flags, same life cycle as `run`.
// The registry flags of `register`, `deregister`, `resolve` and `watch`: --etcd, --consul,
// --zookeeper, --eureka or --nacos and the flags of that backend (registry_options.hpp declares
// them for register and deregister and builds the manifest's registry section from them).
struct RegistryFlags {
  std::vector<std::string> etcd;
  std::optional<std::string> consul;
  std::string prefix, format, token_file;
  std::string etcd_ca_file, etcd_cert_file, etcd_key_file, etcd_server_name, etcd_user,
      etcd_password_file;
  // The other backends (registry_options.hpp declares their flags for register and deregister).
  std::vector<std::string> zookeeper;  // --zookeeper host:port
  std::vector<std::string> eureka;     // --eureka URL
  std::vector<std::string> nacos;      // --nacos host:port
  std::string zookeeper_user, zookeeper_password_file;
  std::string eureka_user, eureka_password_file;
  std::string nacos_namespace, nacos_group, nacos_user, nacos_password_file;
  std::string ttl;  // register --ttl: the lease, check TTL or session timeout
};
struct RegisterOptions {
  RegistryFlags registry;  // --etcd ... --nacos and their flags
  std::string name, id, address;
  int port = 0;
  std::vector<std::string> tags;
  std::vector<std::string> meta;  // k=v
  std::string probe_target, probe_service, probe_mode, probe_interval, probe_timeout;
  int rise = 0, fall = 0;  // 0 = default
  std::string drain, shutdown_timeout;
};
void add_register_options(CLI::App& cmd, RegisterOptions& o);
// Builds the manifest from the flags; on a bad value returns nullopt and sets `error` to one
// line naming the flag.
std::optional<config::Manifest> manifest_from_flags(const RegisterOptions& o, std::string& error);

// `grpc-registrar deregister`: remove one registration by name/id (clean-up).
struct DeregisterOptions {
  RegistryFlags registry;  // --etcd ... --nacos and their flags
  std::string name, id, address, timeout = "3s";
  int port = 0;
};
void add_deregister_options(CLI::App& cmd, DeregisterOptions& o);
int deregister(const DeregisterOptions& o);
// deregister_eureka.cpp: DELETE {url}/apps/{APP}/{ID} at the first server that answers.
int deregister_eureka(const DeregisterOptions& o, const config::EurekaSpec& spec,
                      config::Duration timeout);
// deregister_nacos.cpp: DELETE /nacos/v1/ns/instance at the first server that answers.
int deregister_nacos(const DeregisterOptions& o, const config::NacosSpec& spec,
                     config::Duration timeout);
// deregister_zookeeper.cpp: deletes the entry's node (and a `register`'s ownership record).
int deregister_zookeeper(const DeregisterOptions& o, const config::ZooKeeperSpec& spec,
                         config::Duration timeout);

// `grpc-registrar probe ADDR`: one grpc.health.v1 Check, grpc-health-probe's exit codes.
struct ProbeOptions {
  std::string address;
  std::string service;
  std::string connect_timeout = "1s";
  std::string rpc_timeout = "1s";
  bool verbose = false;
  // TLS, as grpc-health-probe's -tls, -tls-ca-cert, -tls-client-cert, -tls-client-key and
  // -tls-server-name (probe_cmd.cpp).
  bool tls = false;
  std::string tls_ca_cert;
  std::string tls_client_cert;
  std::string tls_client_key;
  std::string tls_server_name;
};
void add_probe_options(CLI::App& cmd, ProbeOptions& o);
int probe_once(const ProbeOptions& o);
// The flags of a grpc.health.v1 Check, shared by `probe` and `resolve --check`: the connect and
// RPC timeouts and TLS (--tls, --tls-ca-cert, --tls-client-cert, --tls-client-key,
// --tls-server-name).
void add_health_check_flags(CLI::App& cmd, ProbeOptions& o);
// Those TLS flags as a TlsSpec; nullopt (after a message on stderr) when they contradict.
std::optional<config::TlsSpec> probe_tls_spec(const ProbeOptions& o);
// How messages name the TLS settings: by those flags.
const probe::TlsSettingNames& probe_tls_flag_names();

// `grpc-registrar resolve NAME` and `grpc-registrar watch NAME`: what clients of the registry see
// (discovery/). The registry: --etcd or --consul and the flags of that backend (as `register`
// and `deregister` name them), else the manifest's registry section (-c).
struct ReadOptions {
  std::string name;
  RegistryFlags registry;
  std::vector<std::string> tags;
  bool healthy_only = true;
  std::string output = "table";  // table, json or addrs
  std::string timeout = "3s";
  std::optional<std::string> check;  // resolve --check [SERVICE]
  ProbeOptions check_options;        // its timeouts and TLS, as `probe`'s
  std::string exec;                  // watch --exec CMD
};
void add_resolve_options(CLI::App& cmd, ReadOptions& o);
void add_watch_options(CLI::App& cmd, ReadOptions& o);
int resolve(const ReadOptions& o, const std::string& config_path, bool config_given);
int watch(const ReadOptions& o, const std::string& config_path, bool config_given);

// `grpc-registrar drain`: tell a running daemon to deregister everything and keep running.
// `grpc-registrar status`: ask a running daemon how it is (a HEALTHCHECK command).
struct ClientOptions {
  std::string status_address;  // status --status-address: TCP only; else as control_socket says
  std::string control_socket;  // --control-socket; else the manifest's or the default path
  int pid = 0;                 // drain --pid: SIGUSR1 instead of HTTP
  std::string timeout = "30s";
  bool ready = false;  // status --ready
  bool quiet = false;  // status --quiet
};
void add_drain_options(CLI::App& cmd, ClientOptions& o);
void add_status_options(CLI::App& cmd, ClientOptions& o);
int drain_daemon(const ClientOptions& o, const std::string& config_path, bool config_given);
int daemon_status(const ClientOptions& o, const std::string& config_path, bool config_given);

// Parses argv and dispatches.
int main(int argc, char** argv);

}  // namespace registrar::cli
