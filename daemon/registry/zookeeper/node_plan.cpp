#include "registry/zookeeper/node_plan.hpp"

namespace registrar::registry::zookeeper {

NodePlan plan_nodes(const std::map<std::string, std::string>& desired,
                    const std::map<std::string, OwnNode>& own, const std::set<std::string>& held,
                    std::size_t max_requests) {
  NodePlan p;
  for (const auto& [path, data] : desired) {
    if (p.size() >= max_requests) return p;
    if (held.count(path) != 0) continue;
    auto it = own.find(path);
    if (it == own.end()) {
      p.create.push_back(path);
    } else if (it->second.data != data) {
      p.set.push_back(path);
    }
  }
  for (const auto& [path, node] : own) {
    if (p.size() >= max_requests) return p;
    if (desired.count(path) == 0 && held.count(path) == 0)
      p.remove.emplace_back(path, node.version);
  }
  return p;
}

std::vector<std::string> ancestors(const std::string& path) {
  std::vector<std::string> out;
  for (std::size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1))
    out.push_back(path.substr(0, slash));
  return out;
}

}  // namespace registrar::registry::zookeeper
