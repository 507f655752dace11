// The ZooKeeper backend's pure diff: which requests make the registry hold the desired nodes,
// given what is known to be there as ours (confirmed in this session). Never a request for a
// node that is unchanged, held by another session (a conflict waiting out its backoff), or
// whose state is unknown (to be read back first).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace registrar::registry::zookeeper {

struct OwnNode {
  std::string data;
  std::int32_t version = 0;
  friend bool operator==(const OwnNode&, const OwnNode&) = default;
};

struct NodePlan {
  std::vector<std::string> create;                           // desired, not there: create ephemeral
  std::vector<std::string> set;                              // ours, other data: set (with version)
  std::vector<std::pair<std::string, std::int32_t>> remove;  // ours, not desired (with version)
  bool empty() const { return create.empty() && set.empty() && remove.empty(); }
  std::size_t size() const { return create.size() + set.size() + remove.size(); }
};

// `desired`: path -> data. `own`: our nodes in this session. `held`: paths to leave alone for
// now (held by someone else, or unknown until read back). At most `max_requests` requests.
NodePlan plan_nodes(const std::map<std::string, std::string>& desired,
                    const std::map<std::string, OwnNode>& own, const std::set<std::string>& held,
                    std::size_t max_requests);

// The parents of `path` up to the root, nearest last ("/a/b/c" -> "/a", "/a/b").
std::vector<std::string> ancestors(const std::string& path);

}  // namespace registrar::registry::zookeeper
