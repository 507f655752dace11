#include "registry/etcd/reply_parse.hpp"

#include <algorithm>

namespace registrar::registry::etcd {

GrantReply read_grant(const etcdserverpb::LeaseGrantResponse& resp) {
  GrantReply g;
  g.id = resp.id();
  if (!resp.error().empty()) {
    g.refusal = "refused: " + resp.error();
  } else if (resp.id() == 0) {
    g.refusal = "refused: etcd granted no lease (ID 0)";
  } else if (resp.ttl() < 1 || resp.ttl() > kMaxLeaseTtlSeconds) {
    g.refusal = "refused: etcd granted a TTL of " + std::to_string(resp.ttl()) + "s";
  } else {
    g.ttl_s = resp.ttl();
  }
  return g;
}

KeepAliveReply read_keepalive(const etcdserverpb::LeaseKeepAliveResponse& resp,
                              std::int64_t lease) {
  if (lease == 0 || resp.id() != lease) return KeepAliveReply::Ignore;
  return resp.ttl() <= 0 ? KeepAliveReply::Expired : KeepAliveReply::Renewed;
}

std::int64_t owner_record_lease(const etcdserverpb::TxnResponse& resp) {
  if (resp.responses_size() == 0) return 0;
  const auto& range = resp.responses(0).response_range();
  if (range.kvs_size() == 0) return 0;
  return range.kvs(0).lease();
}

Adoption read_adoption(const etcdserverpb::LeaseTimeToLiveResponse& resp,
                       const std::string& owner_key,
                       const std::map<std::string, std::string>& named) {
  Adoption a;
  if (resp.ttl() <= 0) return a;
  a.alive = true;
  for (const auto& key : resp.keys()) {
    if (!owner_key.empty() && key == owner_key) continue;
    if (!a.keys.insert(key).second) continue;  // listed twice
    if (auto it = named.find(key); it != named.end())
      a.inherited.insert(it->second);
    else
      ++a.removed;
  }
  return a;
}

std::vector<KeyCheck> read_ranges(const etcdserverpb::TxnResponse& resp,
                                  const std::vector<std::string>& keys,
                                  const std::map<std::string, std::string>& wanted,
                                  std::int64_t lease, const std::vector<std::int64_t>& our_leases) {
  auto ours = [&](std::int64_t l) {
    return l != 0 && std::find(our_leases.begin(), our_leases.end(), l) != our_leases.end();
  };
  std::vector<KeyCheck> out;
  const std::size_t n = std::min(keys.size(), static_cast<std::size_t>(resp.responses_size()));
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& key = keys[i];
    const auto& kvs = resp.responses(static_cast<int>(i)).response_range().kvs();
    const bool present = !kvs.empty();
    KeyState state;
    if (auto want = wanted.find(key); want != wanted.end()) {
      const bool good = present && kvs[0].lease() == lease && kvs[0].value() == want->second;
      state = good ? KeyState::Confirmed : KeyState::Differs;
    } else {
      state = present && ours(kvs[0].lease()) ? KeyState::Stray : KeyState::NotOurs;
    }
    out.push_back({key, state});
  }
  return out;
}

Failure classify_failure(const grpc::Status& status) {
  const auto code = status.error_code();
  const std::string& message = status.error_message();
  if (code == grpc::StatusCode::NOT_FOUND && message.find("lease not found") != std::string::npos)
    return Failure::LeaseNotFound;
  if (code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED)
    return Failure::Unreachable;
  if (code == grpc::StatusCode::INVALID_ARGUMENT &&
      message.find("too many operations") != std::string::npos)
    return Failure::TooManyOps;
  return Failure::Refused;
}

bool revoke_done(const grpc::Status& status) {
  return status.ok() || status.error_code() == grpc::StatusCode::NOT_FOUND;
}

}  // namespace registrar::registry::etcd
