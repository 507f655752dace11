// The manifest's sections, each read from its YAML value into its spec (manifest.hpp) and
// validated: one function per section, one file per group (manifest_registry.cpp,
// manifest_etcd.cpp, manifest_consul.cpp, manifest_tls.cpp, manifest_services.cpp).
// parse_manifest (manifest_parser.cpp) calls them from the top level down. A new registry
// backend adds its section here, in a file of its own.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/manifest.hpp"
#include "config/manifest_reader.hpp"

namespace registrar::config {

// `registry`: kind, each backend's section (both may be present; the one `kind` names is used),
// backoff.
RegistrySpec read_registry(const Reader& r, const Value& v);
BackoffSpec read_backoff(const Reader& r, const Value& v);

// `registry.etcd`. `in_use`: kind is etcd, so the environment's password counts.
EtcdSpec read_etcd(const Reader& r, const Value& v, bool in_use);

// `registry.zookeeper` (manifest_zookeeper.cpp). `in_use`: kind is zookeeper, so the
// environment's password counts.
ZooKeeperSpec read_zookeeper(const Reader& r, const Value& v, bool in_use);
// Refuses service names and ids that cannot be a znode's name ("." and ".."), and meta keys the
// curator format reserves (config/zookeeper_limits.hpp), when the kind is zookeeper.
void check_zookeeper_names(const Manifest& m);

// `registry.consul`, absent (nullopt) or not. When `in_use` (kind is consul), Consul's
// environment variables fill in what the section leaves out, and the agent's TLS settings are
// resolved; `kind` (registry.kind, set when in use) is where errors about them point when there
// is no section.
ConsulSpec read_consul(const Reader& r, const std::optional<Value>& section,
                       const std::optional<Value>& kind, bool in_use);
// `registry.nacos`. `in_use`: kind is nacos, so the environment's password counts.
NacosSpec read_nacos(const Reader& r, const Value& v, bool in_use);

// A service's `meta` checked against what Consul accepts (consul_limits.hpp), once per key as it
// is read: `key` and its value `item` have been added to `so_far`; `map_path` is the meta map's.
void check_consul_meta(const Reader& r, const YAML::Node& key, const std::string& map_path,
                       const Value& item, const std::map<std::string, std::string>& so_far);

// `registry.eureka` (an empty section when absent). `in_use` (kind is eureka): the password may
// come from $EUREKA_PASSWORD.
EurekaSpec read_eureka(const Reader& r, const Value& v, bool in_use);
// What Eureka needs of the services when kind is eureka: meta keys that are XML names (Eureka's
// XML codec writes them as elements) and not the reserved gRPC_port.
void check_eureka_services(const Manifest& m);

// A `tls` section: its presence turns TLS on, `enabled: false` (or `tls: false`) off again.
// `consul`: registry.consul.tls, which alone has insecure_skip_verify.
TlsSpec read_tls(const Reader& r, const Value& v, bool consul);

// `defaults` (its probe) and `services`, each service's probe being the defaults with its own
// keys on top. `consul`: kind is consul, so meta must suit Consul.
ProbeSpec read_defaults(const Reader& r, const Value& v);
std::vector<ServiceSpec> read_services(const Reader& r, const Value& v, const ProbeSpec& defaults,
                                       bool consul);
// Refuses two services that would share one etcd key in the gokit and grpc-go formats.
void check_address_keys(const Manifest& m);

}  // namespace registrar::config
