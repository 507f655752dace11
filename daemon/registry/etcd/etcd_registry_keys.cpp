// EtcdRegistry's keys: adopting what a previous run left, verify (reading our keys back) and
// write (one Txn of the plan), and what their answers teach us about what etcd holds.
#include <spdlog/spdlog.h>

#include "registry/common/bind_weak.hpp"
#include "registry/etcd/etcd_registry.hpp"
#include "registry/etcd/log_text.hpp"
#include "registry/etcd/reply_parse.hpp"

namespace registrar::registry::etcd {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

// Once, after the first grant: a previous run of this daemon (same owner) may have left keys on
// its lease (it was SIGKILLed, or lost power). The ownership record names that lease, and
// LeaseTimeToLive lists its keys. Those the manifest still names are reported as inherited (the
// supervisor starts them healthy, so they are re-put under our lease before the old lease is
// revoked: no gap); every other one is ours and no longer wanted, so verify deletes it.
void EtcdRegistry::adopt() {
  loop_.begin();
  etcdserverpb::TxnRequest req;
  req.add_success()->mutable_request_range()->set_key(owner_key_);
  client_.txn(std::move(req),
              common::bind_weak(this, &EtcdRegistry::on_owner_record, meter_.sent()));
}

void EtcdRegistry::on_owner_record(time_point sent, const grpc::Status& status,
                                   etcdserverpb::TxnResponse&& resp) {
  loop_.end();
  meter_.request("txn", status.ok(), sent);
  if (shutting_down()) return;
  if (!status.ok()) return on_call_failed("ownership record read", status);
  const std::int64_t previous = owner_record_lease(resp);
  if (previous == 0 || previous == lease_id_) {  // no earlier run left anything
    adopt_pending_ = false;
    on_call_succeeded(false);
    return loop_.run();
  }
  // Ours from here on: revoked once its keys are dealt with, or at shutdown.
  if (!ours(previous)) stale_leases_.push_back(previous);
  loop_.begin();
  client_.lease_time_to_live(
      previous, true,
      common::bind_weak(this, &EtcdRegistry::on_previous_lease, previous, meter_.sent()));
}

void EtcdRegistry::on_previous_lease(std::int64_t previous, time_point sent,
                                     const grpc::Status& status,
                                     etcdserverpb::LeaseTimeToLiveResponse&& resp) {
  loop_.end();
  meter_.request("time_to_live", status.ok(), sent);
  if (shutting_down()) return;
  if (!status.ok()) return on_call_failed("lease time-to-live", status);
  adopt_pending_ = false;
  Adoption adoption = read_adoption(resp, owner_key_, manifest_ids_);
  if (adoption.alive) {
    for (const auto& key : adoption.keys) {
      ever_put_.insert(key);
      unconfirmed_.insert(key);  // on a lease of ours: verify keeps or deletes it
    }
    spdlog::info(
        "registry: lease {} of a previous run of this daemon (owner {}) still holds {}: keeping "
        "{} the manifest names, removing {}",
        lease_hex(previous), spec_.etcd.owner,
        entries(adoption.inherited.size() + adoption.removed), adoption.inherited.size(),
        adoption.removed);
    verify_needed_ = true;
  } else {
    std::erase(stale_leases_, previous);  // expired meanwhile, with its keys
  }
  on_call_succeeded(false);
  if (!adoption.inherited.empty()) {
    state_.inherited_ids = std::move(adoption.inherited);
    // The supervisor may apply() from inside this callback; nothing here runs after it but
    // loop_.run(), which is idempotent.
    if (on_state_) on_state_(state_);
  }
  loop_.run();
}

// What a verify has heard so far: its Txns go out together, one per chunk of keys.
struct EtcdRegistry::VerifyProgress {
  std::size_t pending;  // Txns not answered yet
  std::optional<grpc::Status> failed;
  std::size_t corrected = 0;  // keys whose state in etcd differed from what we believed
};

// Reads back every key we ever wrote (and every desired one) in Txns of Ranges, and corrects our
// picture of etcd: a desired key missing or not on our lease is written again; a key of ours
// that is not desired (e.g. a put that timed out, then landed late) is deleted.
void EtcdRegistry::verify() {
  std::set<std::string> key_set(ever_put_);
  for (const auto& [key, value] : wanted()) key_set.insert(key);
  for (const auto& key : unconfirmed_) key_set.insert(key);
  if (key_set.empty()) {
    verify_needed_ = false;
    last_verify_ = clock_.now();
    return loop_.run();
  }
  loop_.begin();
  auto chunks = split(std::vector<std::string>(key_set.begin(), key_set.end()), max_txn_ops_);
  auto progress = std::make_shared<VerifyProgress>(VerifyProgress{chunks.size(), std::nullopt});
  for (auto& keys : chunks) {
    etcdserverpb::TxnRequest req;
    for (const auto& key : keys) req.add_success()->mutable_request_range()->set_key(key);
    client_.txn(std::move(req), common::bind_weak(this, &EtcdRegistry::on_verify_chunk, progress,
                                                  std::move(keys), lease_id_, meter_.sent()));
  }
}

void EtcdRegistry::on_verify_chunk(const std::shared_ptr<VerifyProgress>& progress,
                                   const std::vector<std::string>& keys, std::int64_t lease,
                                   time_point sent, const grpc::Status& status,
                                   etcdserverpb::TxnResponse&& resp) {
  meter_.request("txn", status.ok(), sent);
  if (!status.ok()) {
    progress->failed = status;
  } else if (lease == lease_id_) {  // answers about a lease since lost teach nothing
    const auto want = wanted();
    std::vector<std::int64_t> our_leases(stale_leases_);
    our_leases.push_back(lease_id_);
    for (const KeyCheck& check : read_ranges(resp, keys, want, lease, our_leases)) {
      const std::string& key = check.key;
      switch (check.state) {
        case KeyState::Confirmed:
          if (!confirmed_.contains(key)) {  // an unconfirmed put did land
            confirmed_[key] = want.at(key);
            confirmed_ids_[key] = id_of(key);
            unconfirmed_.erase(key);
          }
          break;
        case KeyState::Differs:  // written again by the next plan
          if (confirmed_.erase(key) > 0) ++progress->corrected;
          break;
        case KeyState::Stray:  // deleted by the next plan
          if (unconfirmed_.insert(key).second) ++progress->corrected;
          break;
        case KeyState::NotOurs:  // absent, or someone else's: not ours to touch
          unconfirmed_.erase(key);
          break;
      }
    }
  }
  if (--progress->pending > 0) return;
  on_verify_done(*progress);
}

void EtcdRegistry::on_verify_done(const VerifyProgress& progress) {
  loop_.end();
  if (shutting_down()) return;
  if (progress.failed) return on_call_failed("verify", *progress.failed);
  verify_needed_ = false;
  last_verify_ = clock_.now();
  if (progress.corrected > 0)
    spdlog::warn("registry: {} keys in etcd differed from what we wrote; correcting them",
                 progress.corrected);
  on_call_succeeded(false);
  loop_.run();
}

void EtcdRegistry::write(Batch batch) {
  loop_.begin();
  etcdserverpb::TxnRequest req;
  for (const auto& op : batch) {
    if (op.kind == Op::Kind::Put) {
      auto* put = req.add_success()->mutable_request_put();
      put->set_key(op.key);
      put->set_value(op.value);
      put->set_lease(lease_id_);
      ever_put_.insert(op.key);
    } else {
      req.add_success()->mutable_request_delete_range()->set_key(op.key);
    }
  }
  client_.txn(std::move(req), common::bind_weak(this, &EtcdRegistry::on_write_done,
                                                std::move(batch), lease_id_, meter_.sent()));
}

void EtcdRegistry::on_write_done(const Batch& batch, std::int64_t lease, time_point sent,
                                 const grpc::Status& status, etcdserverpb::TxnResponse&& /*resp*/) {
  loop_.end();
  meter_.request("txn", status.ok(), sent);
  if (shutting_down()) return;
  if (!status.ok() || lease != lease_id_) {
    // Outcome unknown (or written under a lease we no longer hold): the keys may exist.
    for (const auto& op : batch)
      if (op.kind == Op::Kind::Put) unconfirmed_.insert(op.key);
    if (!status.ok()) return on_call_failed("txn", status);
    return loop_.run();
  }
  const auto now = clock_.now();
  std::size_t resynced = 0;
  for (const auto& op : batch)
    if (record_written(op, now)) ++resynced;
  if (resynced > 0)
    spdlog::info("registry: wrote {} again under lease {}", entries(resynced),
                 lease_hex(lease_id_));
  on_call_succeeded(true);
  loop_.run();
}

bool EtcdRegistry::record_written(const Op& op, time_point now) {
  unconfirmed_.erase(op.key);
  if (is_owner_key(op.key)) {  // bookkeeping only: not an entry
    if (op.kind == Op::Kind::Put)
      confirmed_[op.key] = op.value;
    else
      confirmed_.erase(op.key);
    return false;
  }
  const std::string id = id_of(op.key);
  // Written because apply() changed it (a probe result): how long that took.
  std::optional<long long> ms;
  if (auto changed = applied_at_.find(op.key); changed != applied_at_.end()) {
    ms = duration_cast<milliseconds>(now - changed->second).count();
    applied_at_.erase(changed);
  }
  if (op.kind == Op::Kind::Put) {
    confirmed_[op.key] = op.value;
    confirmed_ids_[op.key] = id;
    if (!ms) return true;
    spdlog::info("registry: {} registered {} ms after probe result (key {})", id, *ms, op.key);
  } else {
    confirmed_.erase(op.key);
    confirmed_ids_.erase(op.key);
    if (ms)
      spdlog::info("registry: {} removed {} ms after probe result (key {})", id, *ms, op.key);
    else
      spdlog::info("registry: removed stale key {}", op.key);
  }
  return false;
}

}  // namespace registrar::registry::etcd
