// What etcd's answers mean to the etcd backend: the reading of LeaseGrant, LeaseKeepAlive,
// LeaseTimeToLive and Txn/Range responses, and of failed calls. Pure: no I/O, no clock, no
// logging, so that hostile or corrupt answers can be fuzzed (tests/fuzz/etcd_replies_fuzz.cpp).
#pragma once

#include <grpcpp/support/status.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "etcd_rpc.pb.h"

namespace registrar::registry::etcd {

// etcd's own upper bound on a lease TTL (MaxLeaseTTL in etcd's lease package). Also keeps
// std::chrono::seconds(ttl) convertible to nanoseconds (steady_clock) without overflow.
inline constexpr std::int64_t kMaxLeaseTtlSeconds = 9'000'000'000;

// A LeaseGrant answer. A grant is refused when etcd says so (error), names no lease (ID 0) or
// gives a TTL outside 1..kMaxLeaseTtlSeconds (which the keepalive schedule cannot use).
struct GrantReply {
  std::int64_t id = 0;     // the lease, also when refused for its TTL (so it can be revoked)
  std::int64_t ttl_s = 0;  // seconds; valid when refusal is empty
  std::string refusal;     // "" = granted; else why, for a log line
};
GrantReply read_grant(const etcdserverpb::LeaseGrantResponse& resp);

// A LeaseKeepAlive answer for the lease we hold (`lease`, 0 = none).
enum class KeepAliveReply {
  Ignore,   // about another lease (an earlier one), or we hold none
  Expired,  // TTL <= 0: etcd no longer has the lease
  Renewed,
};
KeepAliveReply read_keepalive(const etcdserverpb::LeaseKeepAliveResponse& resp, std::int64_t lease);

// The lease the ownership record is attached to, from a Txn whose first operation was a Range
// of that one key; 0 when there is no record (or the answer holds no Range).
std::int64_t owner_record_lease(const etcdserverpb::TxnResponse& resp);

// A LeaseTimeToLive(keys=true) of the lease an earlier run of this daemon left.
struct Adoption {
  bool alive = false;               // TTL > 0: the lease, and its keys, still exist
  std::set<std::string> keys;       // its keys except the ownership record (empty if !alive)
  std::set<std::string> inherited;  // ids of those keys that `named` names
  std::size_t removed = 0;          // those of its keys `named` does not name
};
// `owner_key` is left out of the keys ("" = no ownership record); `named` maps the key of every
// service the manifest names, healthy or not, to its id.
Adoption read_adoption(const etcdserverpb::LeaseTimeToLiveResponse& resp,
                       const std::string& owner_key,
                       const std::map<std::string, std::string>& named);

// What one Range of a verify Txn says about a key.
enum class KeyState {
  Confirmed,  // wanted, and in etcd on `lease` with the wanted value
  Differs,    // wanted, but absent, on another lease or with another value: write it again
  Stray,      // not wanted, and on a lease of ours: delete it
  NotOurs,    // not wanted, and absent or on someone else's lease: leave it alone
};
struct KeyCheck {
  std::string key;
  KeyState state;
  friend bool operator==(const KeyCheck&, const KeyCheck&) = default;
};
// The answer to a Txn of one Range per key of `keys`, in that order: one KeyCheck per key that
// has a response (extra responses are ignored; a response that is not a Range reads as an
// absent key). `wanted` maps key -> value that must be in etcd under `lease`; `our_leases` are
// every lease of ours (the current one and earlier ones not yet revoked; 0 never counts).
std::vector<KeyCheck> read_ranges(const etcdserverpb::TxnResponse& resp,
                                  const std::vector<std::string>& keys,
                                  const std::map<std::string, std::string>& wanted,
                                  std::int64_t lease, const std::vector<std::int64_t>& our_leases);

// What a failed call means for the backend.
enum class Failure {
  LeaseNotFound,  // NOT_FOUND "lease not found": the lease is gone; grant a new one
  Unreachable,    // UNAVAILABLE or DEADLINE_EXCEEDED: connectivity; outcome of a write unknown
  TooManyOps,     // INVALID_ARGUMENT "too many operations in txn request": smaller Txns
  Refused,        // anything else: etcd answers but refuses
};
Failure classify_failure(const grpc::Status& status);

// Whether a LeaseRevoke did what was asked: a lease already gone (NOT_FOUND) is.
bool revoke_done(const grpc::Status& status);

}  // namespace registrar::registry::etcd
