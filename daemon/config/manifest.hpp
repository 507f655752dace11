// The validated manifest: plain structs, no behaviour. Produced by config::load_manifest().
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/eureka_url.hpp"

namespace registrar::config {

using Duration = std::chrono::milliseconds;

enum class RegistryKind { Etcd, Consul, ZooKeeper, Eureka, Nacos };
enum class EtcdKeyFormat { Json, GoKit, GrpcGo };
enum class ProbeMode { Watch, Poll };
// What a ZooKeeper entry looks like (docs/zookeeper.md): Curator x-discovery's ServiceInstance
// JSON, go-kit sd/zk's host:port, a Finagle/Aurora server set member, airbnb nerve's JSON.
enum class ZooKeeperFormat { Curator, GoKit, Serverset, Nerve };
// The ACL of the nodes the daemon creates when it authenticates: everything for its own digest
// identity, and read for everyone (world-read) or for nobody else (creator-only).
enum class ZooKeeperAcl { WorldRead, CreatorOnly };

// Where a value came from, for error messages and `check` output.
struct Location {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown (defaults, CLI flags)
  int column = 0;  // 1-based
};

// Client-side TLS of one connection (etcd, the Consul agent, or a probed service). The files are
// PEM and are read when a connection is made, so rotated files are picked up on the next
// reconnect; a missing or unreadable file is an error of that attempt (logged, retried), and
// `grpc-registrar check` reports it up front.
struct TlsSpec {
  bool enabled = false;     // set by the presence of a `tls` section (or https://, CONSUL_HTTP_SSL)
  std::string ca_file;      // trusted CA bundle; "" = the system's roots
  std::string cert_file;    // client certificate, for mTLS; set together with key_file
  std::string key_file;     // its private key (a secret: warned about when world-readable)
  std::string server_name;  // name the server certificate must carry; "" = the host dialled
  bool insecure_skip_verify = false;  // Consul only (CONSUL_HTTP_SSL_VERIFY=false); logged loudly
  friend bool operator==(const TlsSpec&, const TlsSpec&) = default;
};

struct BackoffSpec {
  Duration initial{1000};  // 1ms to 1h, as is max
  Duration max{30000};
  double multiplier = 1.6;
  double jitter = 0.2;  // +/- fraction of each delay
};

struct EtcdSpec {
  std::vector<std::string> endpoints{"127.0.0.1:2379"};  // host:port, tried in order
  std::string prefix = "/services";  // no trailing slash; unused by grpc-go format
  EtcdKeyFormat format = EtcdKeyFormat::Json;
  Duration lease_ttl{10000};        // 2s (etcd's minimum TTL) to 24h, whole seconds
  Duration dial_timeout{3000};      // connect + per-request deadline; 10ms to 10m
  Duration resync_interval{30000};  // re-read our keys to catch outside deletions; 0 = off,
                                    // else 1s to 24h
  // gRPC keepalive on the channel: an HTTP/2 ping after keepalive_time without a ping (5s, the
  // least etcd's default --grpc-keepalive-min-time accepts without GOAWAY too_many_pings, to
  // 2h); the connection is closed when the ping, or any data sent, stays unacknowledged for
  // keepalive_timeout (gRPC sets it as TCP_USER_TIMEOUT too). 0 = max(dial_timeout, 1s), at most
  // 1m (config/etcd_keepalive.hpp); else 1s to 10m. The parser resolves 0 when the etcd section
  // is present.
  Duration keepalive_time{10000};
  Duration keepalive_timeout{0};
  // Names this daemon's ownership record (/grpc-registrar/owners/<owner>), which lets its next
  // run find and clean up what this one left. "" = "<hostname>:<absolute manifest path>",
  // filled in by the daemon at start.
  std::string owner;
  TlsSpec tls;  // registry.etcd.tls; off unless the section is present
  // etcd authentication (Auth.Authenticate): the password comes from password_file (re-read on
  // every authentication), else $ETCDCTL_PASSWORD. Never logged or printed.
  std::string username;  // "" = no authentication
  std::string password;  // secret; only when taken from the environment
  std::string password_file;
  std::string password_source;  // e.g. "registry.etcd.password_file (/run/...)"; never the value
};

// Consul's service weights (DNS SRV weights while passing / warning).
struct ConsulWeights {
  int passing = 1;  // 1-65535
  int warning = 1;  // 0-65535
  friend bool operator==(const ConsulWeights&, const ConsulWeights&) = default;
};

struct ConsulSpec {
  // The local agent's HTTP API: "host:port" ("[v6]:port") or "unix:///absolute/path".
  // Default: $CONSUL_HTTP_ADDR, else 127.0.0.1:8500.
  std::string address = "127.0.0.1:8500";
  std::string address_source;  // "CONSUL_HTTP_ADDR" when taken from there, else ""
  // ACL token: the contents of token_file (re-read when the agent answers 403) are preferred;
  // `token` is used when there is no file or it is empty. Secret: never logged or printed.
  std::string token;
  std::string token_file;
  // Where the token comes from, for messages (never the value), e.g.
  // "registry.consul.token_file (/etc/consul.token)", "CONSUL_HTTP_TOKEN"; "" = no token.
  std::string token_source;
  // Marks the services this daemon registered (service Meta "grpc-registrar-owner"); services
  // with another owner are never touched. "" = "<hostname>:<absolute manifest path>", filled in
  // by the daemon at start.
  std::string owner;
  Duration check_ttl{10000};                  // TTL of each service's check; 1s to 1h
  Duration deregister_critical_after{60000};  // Consul reaps a check critical this long; 1m-168h
  Duration reconcile_interval{30000};         // re-read each registration; 0 = off, else 1s to 24h
  Duration request_timeout{3000};        // per HTTP request (connect included); at most check_ttl/2
  std::optional<ConsulWeights> weights;  // of every service registered; unset: Consul's default
  // HTTPS to the agent: an https:// address, CONSUL_HTTP_SSL=true or a `tls` section turn it on;
  // CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY, CONSUL_TLS_SERVER_NAME and
  // CONSUL_HTTP_SSL_VERIFY fill in the keys the manifest leaves out.
  TlsSpec tls;
};

struct ZooKeeperSpec {
  std::vector<std::string> servers{"127.0.0.1:2181"};  // host:port, the C client picks one
  std::string chroot;                   // "" = none; else appended to the connection string
  std::string base_path = "/services";  // entries are <base_path>/<name>/<child>
  Duration session_timeout{10000};      // asked for; the server negotiates; 1s to 10m
  ZooKeeperFormat format = ZooKeeperFormat::Curator;
  Duration resync_interval{30000};  // re-read our nodes; 0 = off, else 1s to 24h
  // Names this daemon's ownership record (/grpc-registrar/owners/<owner>), through which its
  // next run finds the previous session's nodes. "" = "<hostname>:<absolute manifest path>".
  std::string owner;
  // Digest authentication (zoo_add_auth "digest" "user:password"): the password from
  // password_file (read at each new session), else $REGISTRAR_ZOOKEEPER_PASSWORD. Never logged.
  std::string username;  // "" = no authentication, nodes open to all (OPEN_ACL_UNSAFE)
  std::string password;  // secret; only when taken from the environment
  std::string password_file;
  std::string password_source;  // e.g. "registry.zookeeper.auth.password_file (/run/...)"
  ZooKeeperAcl acl = ZooKeeperAcl::WorldRead;  // with authentication only
};

// registry.eureka: a Eureka server (Spring Cloud Netflix, Netflix's eureka-server). Each
// service is one instance of the application named by its upper-cased name.
struct EurekaSpec {
  // Tried in order: every request goes to the first that answers; on a connection failure,
  // timeout or 5xx the next one is tried. Default: Spring's http://127.0.0.1:8761/eureka.
  std::vector<EurekaServer> servers{EurekaServer{"http://127.0.0.1:8761/eureka", "127.0.0.1:8761",
                                                 "127.0.0.1", "/eureka", false}};
  Duration renewal_interval{30000};  // heartbeat period (leaseInfo.renewalIntervalInSecs); 1s-1h
  Duration lease_duration{90000};    // leaseInfo.durationInSecs: whole seconds, >= 2 x renewal
  Duration request_timeout{3000};    // per HTTP request; at most renewal_interval / 2
  // HTTP basic auth (Spring Security in front of the server): the password comes from
  // password_file (re-read at every start of the backend), else $EUREKA_PASSWORD. Never logged.
  std::string username;  // "" = no authentication
  std::string password;  // secret; only when taken from the environment
  std::string password_file;
  std::string password_source;  // e.g. "registry.eureka.password_file (/run/...)"; never the value
  // Files for https:// URLs; a `tls` section is only allowed with https:// URLs.
  TlsSpec tls;
};

// The Nacos naming server's v1 Open API (docs/nacos.md): every healthy service is an ephemeral
// instance kept alive by beats at the interval the server answers.
struct NacosSpec {
  // "host:port" ("[v6]:port"), normalised; tried in order, the next one after a failure.
  std::vector<std::string> servers{"127.0.0.1:8848"};
  std::string namespace_id = "public";  // namespaceId: the namespace's id, not its display name
  std::string group = "DEFAULT_GROUP";
  std::string cluster = "DEFAULT";
  double weight = 1.0;             // 0 to 10000 (Nacos's range)
  Duration request_timeout{3000};  // per HTTP request; 10ms to 5s (a third of the 15 s timeout)
  // Auth (nacos.core.auth.enabled on the server): POST /nacos/v1/auth/login. The password comes
  // from password_file (re-read at every login), else $NACOS_PASSWORD. Never logged or printed.
  std::string username;  // "" = no login
  std::string password;  // secret; only when taken from the environment
  std::string password_file;
  std::string password_source;  // e.g. "registry.nacos.password_file (/run/...)"; never the value
  TlsSpec tls;                  // HTTPS to every server; off unless the section is present
};

struct RegistrySpec {
  RegistryKind kind = RegistryKind::Etcd;
  EtcdSpec etcd;
  ConsulSpec consul;
  ZooKeeperSpec zookeeper;
  EurekaSpec eureka;
  NacosSpec nacos;
  BackoffSpec backoff;
};

struct ProbeSpec {
  ProbeMode mode = ProbeMode::Watch;
  Duration interval{
      1000};               // poll period; in watch mode, how often the streamed status counts again
  Duration timeout{1000};  // deadline of each Check call and of connecting; 10ms to 1h, as is
                           // interval
  // Watch mode: how long the server may stay silent (no message, no answered Check) before a
  // repeat first waits for a liveness Check; values below `interval` act as `interval`. A hung
  // server goes within liveness_interval + fall * (interval + timeout) (docs/operations.md §4).
  Duration liveness_interval{10000};
  int rise = 1;         // consecutive successes to become healthy
  int fall = 1;         // consecutive failures to become unhealthy
  std::string target;   // host:port to probe; default "<address>:<port>"
  std::string service;  // grpc.health.v1 service name; "" = whole server
  TlsSpec tls;          // probe over TLS/mTLS; off unless a `tls` section is present
  // gRPC's transparent retry on the probe channels: a Watch or Check that a connection's GOAWAY
  // caught before it reached the server is sent again on a new connection, not failed. Off, each
  // open stream costs about 6 KB less (docs/manifest.md) and such a race counts as one failure.
  bool transparent_retry = true;

  // Every key: a new one is compared without being listed anywhere else (a reload's
  // same_probe_target compares all but the thresholds through this).
  friend bool operator==(const ProbeSpec&, const ProbeSpec&) = default;
};

struct ServiceSpec {
  std::string name;  // registry service name
  std::string id;    // unique instance id; default "<name>-<address>-<port>" sanitised
  std::string address;
  std::uint16_t port = 0;
  std::vector<std::string> tags;
  std::map<std::string, std::string> meta;
  ProbeSpec probe;  // defaults.probe with this service's overrides applied
  Location location;

  friend bool operator==(const ServiceSpec& a, const ServiceSpec& b) {
    return a.name == b.name && a.id == b.id && a.address == b.address && a.port == b.port &&
           a.tags == b.tags && a.meta == b.meta && a.probe == b.probe;
  }
};

// The status HTTP server (/healthz, /readyz, /v1/services, /metrics: reading) and the control
// socket (the same endpoints, plus POST /v1/drain: acting). See config/status_policy.hpp.
struct StatusSpec {
  std::string listen;  // "IP:port" ("[v6]:port"), normalised; "" = off (the default)
  // A listen address that is not loopback is refused unless this is true.
  bool allow_remote = false;
  // The control socket: an absolute path; "" = the default path (status_policy.hpp), opened when
  // the status server is on; "off" = none.
  std::string control_socket;
};

struct Manifest {
  std::string source;  // file path, or "<flags>"
  RegistrySpec registry;
  ProbeSpec default_probe;
  std::vector<ServiceSpec> services;
  Duration drain{0};                // wait after deregistering, before exiting; at most 1h
  Duration shutdown_timeout{5000};  // bound on deregistration when the registry is slow or down;
                                    // 100ms to 10m
  StatusSpec status;
};

}  // namespace registrar::config
