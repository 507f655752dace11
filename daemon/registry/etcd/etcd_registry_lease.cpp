// EtcdRegistry's lease: the grant, the keepalive stream that renews it, its loss (a TTL 0
// answer, silence past the TTL, "lease not found") and the revocation of leases no longer needed.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "registry/common/bind_weak.hpp"
#include "registry/etcd/etcd_registry.hpp"
#include "registry/etcd/log_text.hpp"
#include "registry/etcd/reply_parse.hpp"

namespace registrar::registry::etcd {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

bool EtcdRegistry::ours(std::int64_t lease) const {
  return lease != 0 && (lease == lease_id_ || std::find(stale_leases_.begin(), stale_leases_.end(),
                                                        lease) != stale_leases_.end());
}

void EtcdRegistry::grant() {
  loop_.begin();
  const auto ttl_s = duration_cast<std::chrono::seconds>(spec_.etcd.lease_ttl).count();
  client_.lease_grant(ttl_s, common::bind_weak(this, &EtcdRegistry::on_grant, meter_.sent()));
}

void EtcdRegistry::on_grant(time_point sent, const grpc::Status& status,
                            etcdserverpb::LeaseGrantResponse&& resp) {
  loop_.end();
  meter_.request("grant", status.ok() && resp.error().empty() && resp.id() != 0, sent);
  if (shutting_down()) {
    if (status.ok() && resp.id() != 0)  // granted while we were stopping: give it back
      revoke_stale(resp.id());
    return;
  }
  if (!status.ok()) return on_call_failed("lease grant", status);
  // read_grant refuses a TTL outside 1..etcd's maximum too: <= 0 would make the first keepalive
  // tick declare the lease lost (a grant loop), a huge one overflows time math.
  const GrantReply grant = read_grant(resp);
  if (!grant.refusal.empty()) {
    if (resp.error().empty() && grant.id != 0) revoke_stale(grant.id);  // unusable
    return on_call_failed("lease grant", grpc::Status(grpc::StatusCode::UNKNOWN, grant.refusal));
  }
  lease_id_ = grant.id;
  lease_ttl_s_ = grant.ttl_s;
  granted_at_ = last_keepalive_ok_ = last_verify_ = clock_.now();
  if (regrant_pending_) {  // the lease was lost: this one replaces it
    regrant_pending_ = false;
    meter_.regrant();
  }
  // A new lease holds nothing. Keys left from earlier leases (unconfirmed_) are checked with a
  // Range first: one that meanwhile belongs to someone else must not be deleted.
  verify_needed_ = !unconfirmed_.empty();
  spdlog::info("registry: etcd lease {} granted, TTL {}s, via {}", lease_hex(lease_id_),
               lease_ttl_s_, client_.endpoint());
  on_call_succeeded(false);
  arm_keepalive(milliseconds(0));
  loop_.run();
}

void EtcdRegistry::lease_lost(const std::string& why) {
  if (lease_id_ == 0) return;
  spdlog::warn(
      "registry: etcd lease {} lost ({}); granting a new one and writing every entry again",
      lease_hex(lease_id_), why);
  stale_leases_.push_back(lease_id_);
  for (const auto& [key, value] : confirmed_) unconfirmed_.insert(key);
  confirmed_.clear();
  lease_id_ = 0;
  regrant_pending_ = true;
  verify_needed_ = false;
  if (keepalive_) keepalive_->cancel();
  keepalive_.reset();
  keepalive_sent_at_.reset();
  keepalive_timer_.cancel();
  update_sync_state();
  // A lease lost within its first TTL (something keeps revoking it): do not spin on grants;
  // each such loss in a row waits longer. A lease that lives a full TTL resets this.
  if (clock_.now() - granted_at_ < std::chrono::seconds(lease_ttl_s_))
    retry_.later(regrant_backoff_);
}

void EtcdRegistry::arm_keepalive(milliseconds delay) {
  keepalive_timer_.arm_after(delay, [this] { on_keepalive_due(); });
}

// Renews the lease (opening the stream if needed), declares it lost after a TTL of silence, and
// starts a verify every resync_interval.
void EtcdRegistry::on_keepalive_due() {
  keepalive_waiting_ = false;
  if (shutting_down() || lease_id_ == 0) return;
  const auto now = clock_.now();
  const auto ttl = std::chrono::seconds(lease_ttl_s_);
  if (now - last_keepalive_ok_ > ttl) {
    lease_lost("no keepalive answer within the lease TTL");
    return loop_.run();
  }
  if (spec_.etcd.resync_interval.count() > 0 && now - last_verify_ >= spec_.etcd.resync_interval &&
      state_.connectivity == Connectivity::Up) {
    verify_needed_ = true;
    last_verify_ = now;
    loop_.run();
  }
  if (!keepalive_ || !keepalive_->open())
    keepalive_ =
        client_.open_keepalive(common::bind_weak(this, &EtcdRegistry::on_keepalive),
                               common::bind_weak(this, &EtcdRegistry::on_keepalive_closed));
  // Timed from the oldest send not answered yet: answers come back in order.
  if (keepalive_->send(lease_id_) && !keepalive_sent_at_) keepalive_sent_at_ = clock_.now();
  // Renew at a third of the TTL; never faster than every 500 ms.
  arm_keepalive(std::max<milliseconds>(milliseconds(500), duration_cast<milliseconds>(ttl) / 3));
}

void EtcdRegistry::on_keepalive(const etcdserverpb::LeaseKeepAliveResponse& resp) {
  if (shutting_down()) return;
  const KeepAliveReply reply = read_keepalive(resp, lease_id_);
  if (reply == KeepAliveReply::Ignore) return;
  if (keepalive_sent_at_) {
    meter_.keepalive_since(*keepalive_sent_at_);
    keepalive_sent_at_.reset();
  }
  if (reply == KeepAliveReply::Expired) {
    lease_lost("etcd answered the keepalive with TTL 0: the lease expired or was revoked");
    return loop_.run();
  }
  last_keepalive_ok_ = clock_.now();
  keepalive_backoff_.reset();
  if (last_keepalive_ok_ - granted_at_ >= std::chrono::seconds(lease_ttl_s_))
    regrant_backoff_.reset();
  const bool reconnected = state_.connectivity != Connectivity::Up;
  set_connectivity(Connectivity::Up, "");
  if (reconnected) {
    // etcd 3.4 can acknowledge the renewal of a lease it no longer has: trust only a Range.
    verify_needed_ = true;
    loop_.run();
  }
}

void EtcdRegistry::on_keepalive_closed(const grpc::Status& status) {
  keepalive_.reset();
  keepalive_sent_at_.reset();
  if (shutting_down()) return;
  if (!status.ok()) meter_.stream_failed("keepalive_stream");
  if (lease_id_ == 0) return;
  set_connectivity(Connectivity::Down, "keepalive stream: " + describe(status));
  keepalive_waiting_ = true;
  arm_keepalive(keepalive_backoff_.next());
  reconnect_.start();
}

// Its outcome only matters to metrics: a lease not revoked expires with its TTL.
void EtcdRegistry::revoke_stale(std::int64_t lease) {
  client_.lease_revoke(lease, [self = weak_from_this(), sent = meter_.sent()](
                                  const grpc::Status& status, etcdserverpb::LeaseRevokeResponse&&) {
    if (auto registry = self.lock()) registry->meter_.request("revoke", revoke_done(status), sent);
  });
}

}  // namespace registrar::registry::etcd
