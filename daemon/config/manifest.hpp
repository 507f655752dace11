// The validated manifest: plain structs, no behaviour. Produced by config::load_manifest().
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace registrar::config {

using Duration = std::chrono::milliseconds;

enum class RegistryKind { Etcd, Consul };
enum class EtcdKeyFormat { Json, GoKit, GrpcGo };
enum class ProbeMode { Watch, Poll };

// Where a value came from, for error messages and `check` output.
struct Location {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown (defaults, CLI flags)
  int column = 0;  // 1-based
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
};

struct RegistrySpec {
  RegistryKind kind = RegistryKind::Etcd;
  EtcdSpec etcd;
  BackoffSpec backoff;
};

struct ProbeSpec {
  ProbeMode mode = ProbeMode::Watch;
  Duration interval{
      1000};               // poll period; in watch mode, how often the streamed status counts again
  Duration timeout{1000};  // deadline of each Check call and of connecting; 10ms to 1h, as is
                           // interval
  int rise = 1;            // consecutive successes to become healthy
  int fall = 1;            // consecutive failures to become unhealthy
  std::string target;      // host:port to probe; default "<address>:<port>"
  std::string service;     // grpc.health.v1 service name; "" = whole server
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
           a.tags == b.tags && a.meta == b.meta && a.probe.mode == b.probe.mode &&
           a.probe.interval == b.probe.interval && a.probe.timeout == b.probe.timeout &&
           a.probe.rise == b.probe.rise && a.probe.fall == b.probe.fall &&
           a.probe.target == b.probe.target && a.probe.service == b.probe.service;
  }
};

struct Manifest {
  std::string source;  // file path, or "<flags>"
  RegistrySpec registry;
  ProbeSpec default_probe;
  std::vector<ServiceSpec> services;
  Duration drain{0};                // wait after deregistering, before exiting; at most 1h
  Duration shutdown_timeout{5000};  // bound on deregistration when the registry is slow or down;
                                    // 100ms to 10m
};

}  // namespace registrar::config
