// How the ZooKeeper reader reads a service's nodes: where they are and what each child's data
// says. Pure, so that every entry shape is unit-tested and hostile data is refused one by one.
//
// Where: the children of <base_path>/<name>, the service's node, as the backend writes them (and
// Curator's ServiceDiscovery, go-kit's sd/zk, Finagle's serversets and nerve). What: each child
// is read by the manifest's format first, then by the other formats the backend knows
// (registry/zookeeper/entry_format.hpp: curator, gokit, serverset, nerve), so that entries other
// registrars write next to ours are listed too.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/manifest.hpp"
#include "discovery/instance.hpp"

namespace registrar::discovery::zookeeper {

// "<base_path>/<name>"
std::string service_path(const std::string& base_path, const std::string& name);

// The child `child` of the service's node holding `data`, as an instance of `name`; nullopt with
// `why` set when no format reads it. Every listed instance is passing: the backend removes the
// nodes of services that are not (and a serverset member is read only while ALIVE).
std::optional<Instance> parse_node(config::ZooKeeperFormat format, const std::string& base_path,
                                   const std::string& name, const std::string& child,
                                   const std::string& data, std::string& why);

}  // namespace registrar::discovery::zookeeper
