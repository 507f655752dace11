#include "discovery/zookeeper_nodes.hpp"

#include <array>

#include "registry/zookeeper/entry_format.hpp"

namespace registrar::discovery::zookeeper {

std::string service_path(const std::string& base_path, const std::string& name) {
  return base_path + "/" + name;
}

std::optional<Instance> parse_node(config::ZooKeeperFormat format, const std::string& base_path,
                                   const std::string& name, const std::string& child,
                                   const std::string& data, std::string& why) {
  using F = config::ZooKeeperFormat;
  if (child.empty() || child.find('/') != std::string::npos) {
    why = "not a child's name";
    return std::nullopt;
  }
  const std::string path = service_path(base_path, name) + "/" + child;
  std::array<F, 5> order{format, F::Curator, F::GoKit, F::Serverset, F::Nerve};
  for (F f : order) {
    const auto d = registry::zookeeper::decode(f, base_path, path, data);
    if (!d || d->port == 0 || d->address.empty()) continue;
    Instance i;
    i.id = d->id;
    i.name = d->name;
    i.address = d->address;
    i.port = d->port;
    i.tags = d->tags;
    i.meta = d->meta;
    return i;
  }
  why = "data of no known format (curator, gokit, serverset, nerve)";
  return std::nullopt;
}

}  // namespace registrar::discovery::zookeeper
