// The difference between what should be in etcd and what we wrote, as batches of Txn
// operations. Pure: no I/O, no time.
#pragma once

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

// desired: key -> value that must exist under our lease.
// written: key -> value we know is in etcd under our current lease.
// maybe_present: keys that may still exist from an earlier lease (or an unconfirmed write).
// Puts every desired key whose value differs or is not written; deletes every written or
// maybe-present key that is not desired. An unchanged entry produces no op.
std::vector<Batch> plan(const std::map<std::string, std::string>& desired,
                        const std::map<std::string, std::string>& written,
                        const std::set<std::string>& maybe_present,
                        std::size_t max_ops = kMaxTxnOps);

}  // namespace registrar::registry::etcd
