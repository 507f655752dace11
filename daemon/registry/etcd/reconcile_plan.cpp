#include "registry/etcd/reconcile_plan.hpp"

namespace registrar::registry::etcd {

std::vector<Batch> plan(const std::map<std::string, std::string>& desired,
                        const std::map<std::string, std::string>& written,
                        const std::set<std::string>& maybe_present, std::size_t max_ops) {
  std::vector<Op> ops;
  // Deletes first: a key that moved (e.g. a new address) frees its old name before the put.
  std::set<std::string> deletes;
  for (const auto& [key, value] : written)
    if (!desired.contains(key)) deletes.insert(key);
  for (const auto& key : maybe_present)
    if (!desired.contains(key)) deletes.insert(key);
  for (const auto& key : deletes) ops.push_back({Op::Kind::Delete, key, {}});
  for (const auto& [key, value] : desired) {
    auto it = written.find(key);
    if (it == written.end() || it->second != value) ops.push_back({Op::Kind::Put, key, value});
  }
  return split(ops, max_ops);
}

}  // namespace registrar::registry::etcd
