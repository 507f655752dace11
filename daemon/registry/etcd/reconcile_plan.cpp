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

Batch next_batch(const std::map<std::string, std::string>& desired,
                 const std::map<std::string, std::string>& written,
                 const std::set<std::string>& maybe_present, std::size_t max_ops) {
  if (max_ops == 0) max_ops = 1;
  Batch batch;
  // Every map and set here is sorted by key: each walk below is a linear merge, one key
  // comparison a step, no lookups.
  // Deletes first, in key order: the keys of `written` and `maybe_present` merged, each once,
  // that `desired` lacks.
  auto w = written.begin();
  auto m = maybe_present.begin();
  auto d = desired.begin();
  while ((w != written.end() || m != maybe_present.end()) && batch.size() < max_ops) {
    const std::string* key = nullptr;
    if (m == maybe_present.end() || (w != written.end() && w->first < *m)) {
      key = &(w++)->first;
    } else if (w == written.end() || *m < w->first) {
      key = &*m++;
    } else {  // in both
      key = &*m++;
      ++w;
    }
    while (d != desired.end() && d->first < *key) ++d;
    if (d == desired.end() || d->first != *key) batch.push_back({Op::Kind::Delete, *key, {}});
  }
  // Then puts, in key order: desired keys not written, or written with another value.
  w = written.begin();
  for (d = desired.begin(); d != desired.end() && batch.size() < max_ops; ++d) {
    while (w != written.end() && w->first < d->first) ++w;
    if (w == written.end() || w->first != d->first || w->second != d->second)
      batch.push_back({Op::Kind::Put, d->first, d->second});
  }
  return batch;
}

}  // namespace registrar::registry::etcd
