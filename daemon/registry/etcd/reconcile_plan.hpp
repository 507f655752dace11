// The difference between what should be in etcd and what we wrote, as batches of Txn
// operations. Pure: no I/O, no time.
#pragma once

#include <algorithm>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace registrar::registry::etcd {

// etcd refuses a Txn with more operations than --max-txn-ops (default 128).
inline constexpr std::size_t kMaxTxnOps = 128;

struct Op {
  enum class Kind { Put, Delete } kind;
  std::string key;
  std::string value;  // Put only

  friend bool operator==(const Op&, const Op&) = default;
};

using Batch = std::vector<Op>;

// Splits `items` into consecutive groups of at most `max` (at least 1).
template <class T>
std::vector<std::vector<T>> split(const std::vector<T>& items, std::size_t max) {
  if (max == 0) max = 1;
  std::vector<std::vector<T>> out;
  for (std::size_t i = 0; i < items.size(); i += max)
    out.emplace_back(items.begin() + static_cast<std::ptrdiff_t>(i),
                     items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), i + max)));
  return out;
}

// desired: key -> value that must exist under our lease.
// written: key -> value we know is in etcd under our current lease.
// maybe_present: keys that may still exist from an earlier lease (or an unconfirmed write).
// Puts every desired key whose value differs or is not written; deletes every written or
// maybe-present key that is not desired. An unchanged entry produces no op.
std::vector<Batch> plan(const std::map<std::string, std::string>& desired,
                        const std::map<std::string, std::string>& written,
                        const std::set<std::string>& maybe_present,
                        std::size_t max_ops = kMaxTxnOps);

// The first batch of plan(), the same ops in the same order, without building the others: a
// pass writes one batch and plans again after its answer, so building every batch each time
// cost O(N) copies of keys and values per Txn (at N = 10,000, 80 Txns to start: most of the
// registry's share of start-up, docs/benchmarks.md). Empty when nothing is to be written.
Batch next_batch(const std::map<std::string, std::string>& desired,
                 const std::map<std::string, std::string>& written,
                 const std::set<std::string>& maybe_present, std::size_t max_ops = kMaxTxnOps);

}  // namespace registrar::registry::etcd
