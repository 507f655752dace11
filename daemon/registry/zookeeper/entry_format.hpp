// What a ZooKeeper entry is, per `registry.zookeeper.format`: the node's path and its data, one
// small pure function per format (encode), and the reading of each (decode), so that a reader of
// the registry (conformance tests, a resolve side) parses exactly what the daemon writes.
//   curator:   <base>/<name>/<id>, Curator x-discovery's ServiceInstance JSON as
//              JsonInstanceSerializer writes it, payload a Spring Cloud Zookeeper
//              ZookeeperInstance whose metadata carries the service's meta, "gRPC_port" and
//              "tags" (comma-joined, when there are tags);
//   gokit:     <base>/<name>/<id>, data "host:port" (go-kit sd/zk's Instancer reads children's
//              data as instance strings);
//   serverset: <base>/<name>/member_<id>, {"serviceEndpoint":{"host","port"},
//              "additionalEndpoints":{},"status":"ALIVE"} (Finagle and Aurora read member_*);
//   nerve:     <base>/<name>/<id>, {"host","port","name"} as nerve writes it for synapse.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/manifest.hpp"
#include "config/zookeeper_limits.hpp"
#include "registry/registration.hpp"

namespace registrar::registry::zookeeper {

// The metadata keys the curator format adds to a service's meta (the manifest refuses them as
// meta keys when the registry is ZooKeeper).
inline constexpr const char* kGrpcPortKey = config::kZooKeeperGrpcPortKey;
inline constexpr const char* kTagsKey = config::kZooKeeperTagsKey;
// Spring Cloud Zookeeper's payload class, named in the payload as Jackson's type id.
inline constexpr const char* kSpringInstanceClass =
    "org.springframework.cloud.zookeeper.discovery.ZookeeperInstance";

struct Entry {
  std::string path;  // absolute, under the base path (no chroot: the client adds it)
  std::string data;
  friend bool operator==(const Entry&, const Entry&) = default;
};

// `registration_ms`: Curator's registrationTimeUTC (the wall clock when first written; kept
// for an unchanged entry so that its data does not change).
Entry encode(config::ZooKeeperFormat format, const std::string& base_path, const Registration& r,
             std::int64_t registration_ms);

// The path an entry of `r` has, whatever its data.
std::string entry_path(config::ZooKeeperFormat format, const std::string& base_path,
                       const Registration& r);

// The instance a node holds, as a reader sees it; nullopt when the data is not of this format.
struct Decoded {
  std::string name;  // from the path (the service's node)
  std::string id;    // from the path (the child's name)
  std::string address;
  std::uint16_t port = 0;
  std::vector<std::string> tags;            // curator only
  std::map<std::string, std::string> meta;  // curator only, without gRPC_port and tags
  std::int64_t registration_ms = 0;         // curator only
};
std::optional<Decoded> decode(config::ZooKeeperFormat format, const std::string& base_path,
                              const std::string& path, const std::string& data);

// The one-format functions, each a pure function of the registration.
std::string curator_data(const Registration& r, std::int64_t registration_ms);
std::string gokit_data(const Registration& r);
std::string serverset_data(const Registration& r);
std::string nerve_data(const Registration& r);

}  // namespace registrar::registry::zookeeper
