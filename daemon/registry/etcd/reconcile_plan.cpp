#include "registry/etcd/reconcile_plan.hpp"

namespace registrar::registry::etcd {

std::vector<Batch> plan(const std::map<std::string, std::string>& desired,
                        const std::map<std::string, std::string>& written,
                        const std::set<std::string>& maybe_present, std::size_t max_ops) {
  if (max_ops == 0) max_ops = 1;
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
  std::vector<Batch> batches;
  for (std::size_t i = 0; i < ops.size(); i += max_ops) {
    const auto end = std::min(ops.size(), i + max_ops);
    batches.emplace_back(ops.begin() + static_cast<std::ptrdiff_t>(i),
                         ops.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return batches;
}

}  // namespace registrar::registry::etcd
