#include "registry/etcd/etcd_registry.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "registry/etcd/etcd_auth.hpp"
#include "registry/etcd/reply_parse.hpp"

namespace registrar::registry::etcd {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::string lease_hex(std::int64_t id) {
  return fmt::format("{:x}", id);
}

bool is_lease_not_found(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::NOT_FOUND &&
         s.error_message().find("lease not found") != std::string::npos;
}

bool is_connectivity_error(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

bool is_too_many_ops(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
         s.error_message().find("too many operations") != std::string::npos;
}

std::string entries(std::size_t n) {
  return fmt::format("{} {}", n, n == 1 ? "entry" : "entries");
}

std::string describe(const grpc::Status& s) {
  return fmt::format("{} (gRPC code {})", s.error_message(), static_cast<int>(s.error_code()));
}

// A revoke whose lease is already gone did what was asked.
bool revoke_done(const grpc::Status& s) {
  return s.ok() || s.error_code() == grpc::StatusCode::NOT_FOUND;
}

}  // namespace

EtcdRegistry::EtcdRegistry(boost::asio::any_io_executor executor, const config::RegistrySpec& spec,
                           std::unique_ptr<EtcdTransport> transport, const runtime::Clock& clock,
                           runtime::Backoff::Random random, metrics::RegistryObserver& observer)
    : executor_(executor),
      spec_(spec),
      clock_(clock),
      observer_(observer),
      transport_(std::move(transport)),
      client_(*transport_),
      backoff_(spec.backoff.initial, spec.backoff.max, spec.backoff.multiplier, spec.backoff.jitter,
               random),
      keepalive_backoff_(spec.backoff.initial, spec.backoff.max, spec.backoff.multiplier,
                         spec.backoff.jitter, random),
      regrant_backoff_(spec.backoff.initial, spec.backoff.max, spec.backoff.multiplier,
                       spec.backoff.jitter, random),
      keepalive_timer_(executor),
      retry_timer_(executor),
      shutdown_timer_(executor),
      ready_timer_(executor) {
  if (!spec.etcd.owner.empty()) {
    owner_key_ = std::string(kOwnersPrefix) + spec.etcd.owner;
    adopt_pending_ = true;
  }
  client_.configure(spec.etcd);
}

EtcdRegistry::~EtcdRegistry() {
  if (keepalive_) keepalive_->cancel();
}

void EtcdRegistry::start(StateCallback on_state_change) {
  on_state_ = std::move(on_state_change);
  reconcile();
}

void EtcdRegistry::apply(const DesiredSet& desired) {
  if (shutting_down_) return;
  // The manifest parser refuses services that would share a key, so keys are unique here.
  // etcd lists only healthy instances: anything not Passing is simply absent.
  named_.clear();
  for (const auto& [id, reg] : desired)
    named_.emplace(format_entry(spec_.etcd.format, spec_.etcd.prefix, reg).key, id);
  std::map<std::string, Wanted> next;
  for (const auto& [id, reg] : passing(desired)) {
    Entry e = format_entry(spec_.etcd.format, spec_.etcd.prefix, reg);
    next.emplace(std::move(e.key), Wanted{id, std::move(e.value)});
  }
  const auto now = clock_.now();
  for (const auto& [key, w] : next) {
    auto old = desired_.find(key);
    if (old == desired_.end() || old->second.value != w.value) changed_at_[key] = now;
  }
  for (const auto& [key, w] : desired_)
    if (!next.contains(key)) changed_at_[key] = now;
  desired_ = std::move(next);
  reconcile();
}

std::string EtcdRegistry::id_of(const std::string& key) const {
  if (auto it = desired_.find(key); it != desired_.end()) return it->second.id;
  if (auto it = written_id_.find(key); it != written_id_.end()) return it->second;
  return key;
}

std::map<std::string, std::string> EtcdRegistry::wanted() const {
  std::map<std::string, std::string> want;
  for (const auto& [key, w] : desired_) want.emplace(key, w.value);
  // The ownership record goes in with the first entry (keys sort it first, so it shares that
  // entry's Txn) and stays while the lease lives: no write while nothing is registered.
  if (!owner_key_.empty() && (!desired_.empty() || written_.contains(owner_key_)))
    want.emplace(owner_key_, owner_value());
  return want;
}

std::string EtcdRegistry::owner_value() const {
  return nlohmann::json{{"owner", spec_.etcd.owner}, {"lease", lease_hex(lease_id_)}}.dump();
}

bool EtcdRegistry::ours(std::int64_t lease) const {
  return lease != 0 && (lease == lease_id_ || std::find(stale_leases_.begin(), stale_leases_.end(),
                                                        lease) != stale_leases_.end());
}

void EtcdRegistry::reconcile() {
  if (shutting_down_ || busy_ || retry_pending_) return;
  if (lease_id_ == 0) return grant();
  if (adopt_pending_) return adopt();
  if (verify_needed_) return verify();
  auto batches = plan(wanted(), written_, maybe_present_, max_txn_ops_);
  if (batches.empty()) {
    for (auto old : stale_leases_)  // keys left on an earlier lease of ours go with it
      revoke_stale(old);
    stale_leases_.clear();
    state_.inherited_ids.clear();  // re-put under our lease by now, or removed
    update_sync_state();
    return;
  }
  write(std::move(batches.front()));
}

void EtcdRegistry::grant() {
  busy_ = true;
  const auto ttl_s = duration_cast<std::chrono::seconds>(spec_.etcd.lease_ttl).count();
  client_.lease_grant(
      ttl_s, [self = weak_from_this(), sent = clock_.now()](
                 const grpc::Status& status, etcdserverpb::LeaseGrantResponse&& resp) {
        auto s = self.lock();
        if (!s) return;
        s->busy_ = false;
        s->observe("grant", status.ok() && resp.error().empty() && resp.id() != 0, sent);
        if (s->shutting_down_) {
          if (status.ok() && resp.id() != 0)  // granted while we were stopping: give it back
            s->revoke_stale(resp.id());
          return;
        }
        if (!status.ok()) return s->on_call_failed("lease grant", status);
        // read_grant refuses a TTL outside 1..etcd's maximum too: <= 0 would make the first
        // keepalive tick declare the lease lost (a grant loop), a huge one overflows time math.
        const GrantReply grant = read_grant(resp);
        if (!grant.refusal.empty()) {
          if (resp.error().empty() && grant.id != 0) s->revoke_stale(grant.id);  // unusable
          return s->on_call_failed("lease grant",
                                   grpc::Status(grpc::StatusCode::UNKNOWN, grant.refusal));
        }
        s->lease_id_ = grant.id;
        s->lease_ttl_s_ = grant.ttl_s;
        s->granted_at_ = s->last_keepalive_ok_ = s->last_verify_ = s->clock_.now();
        if (s->regrant_pending_) {  // the lease was lost: this one replaces it
          s->regrant_pending_ = false;
          s->observer_.lease_regrant();
        }
        // A new lease holds nothing. Keys left from earlier leases (maybe_present_) are checked
        // with a Range first: one that meanwhile belongs to someone else must not be deleted.
        s->verify_needed_ = !s->maybe_present_.empty();
        spdlog::info("registry: etcd lease {} granted, TTL {}s, via {}", lease_hex(s->lease_id_),
                     s->lease_ttl_s_, s->client_.endpoint());
        s->on_call_succeeded(false);
        s->arm_keepalive(milliseconds(0));
        s->reconcile();
      });
}

// Once, after the first grant: a previous run of this daemon (same owner) may have left keys on
// its lease (it was SIGKILLed, or lost power). The ownership record names that lease, and
// LeaseTimeToLive lists its keys. Those the manifest still names are reported as inherited (the
// supervisor starts them healthy, so they are re-put under our lease before the old lease is
// revoked: no gap); every other one is ours and no longer wanted, so verify deletes it.
void EtcdRegistry::adopt() {
  busy_ = true;
  etcdserverpb::TxnRequest req;
  req.add_success()->mutable_request_range()->set_key(owner_key_);
  client_.txn(std::move(req), [self = weak_from_this(), sent = clock_.now()](
                                  const grpc::Status& status, etcdserverpb::TxnResponse&& resp) {
    auto s = self.lock();
    if (!s) return;
    s->busy_ = false;
    s->observe("txn", status.ok(), sent);
    if (s->shutting_down_) return;
    if (!status.ok()) return s->on_call_failed("ownership record read", status);
    std::int64_t old = 0;
    if (resp.responses_size() > 0 && resp.responses(0).response_range().kvs_size() > 0)
      old = resp.responses(0).response_range().kvs(0).lease();
    if (old == 0 || old == s->lease_id_) {  // no earlier run left anything
      s->adopt_pending_ = false;
      s->on_call_succeeded(false);
      return s->reconcile();
    }
    // Ours from here on: revoked once its keys are dealt with, or at shutdown.
    if (!s->ours(old)) s->stale_leases_.push_back(old);
    s->busy_ = true;
    s->client_.lease_time_to_live(
        old, true,
        [self, old, sent = s->clock_.now()](const grpc::Status& st,
                                            etcdserverpb::LeaseTimeToLiveResponse&& ttl) {
          auto s2 = self.lock();
          if (!s2) return;
          s2->busy_ = false;
          s2->observe("time_to_live", st.ok(), sent);
          if (s2->shutting_down_) return;
          if (!st.ok()) return s2->on_call_failed("lease time-to-live", st);
          s2->adopt_pending_ = false;
          s2->adopt_keys(old, ttl);
        });
  });
}

void EtcdRegistry::adopt_keys(std::int64_t old_lease,
                              const etcdserverpb::LeaseTimeToLiveResponse& resp) {
  std::set<std::string> inherited;
  std::size_t removed = 0;
  if (resp.ttl() > 0) {
    for (const auto& key : resp.keys()) {
      if (is_owner_key(key)) continue;
      tracked_.insert(key);
      maybe_present_.insert(key);  // on a lease of ours: verify keeps or deletes it
      if (auto it = named_.find(key); it != named_.end())
        inherited.insert(it->second);
      else
        ++removed;
    }
    spdlog::info(
        "registry: lease {} of a previous run of this daemon (owner {}) still holds {}: keeping "
        "{} the manifest names, removing {}",
        lease_hex(old_lease), spec_.etcd.owner, entries(inherited.size() + removed),
        inherited.size(), removed);
    verify_needed_ = true;
  } else {
    std::erase(stale_leases_, old_lease);  // expired meanwhile, with its keys
  }
  on_call_succeeded(false);
  if (!inherited.empty()) {
    state_.inherited_ids = std::move(inherited);
    // The supervisor may apply() from inside this callback; nothing here runs after it but
    // reconcile(), which is idempotent.
    if (on_state_) on_state_(state_);
  }
  reconcile();
}

// Reads back every key we ever wrote (and every desired one) in Txns of Ranges, and corrects our
// picture of etcd: a desired key missing or not on our lease is written again; a key of ours
// that is not desired (e.g. a put that timed out, then landed late) is deleted.
void EtcdRegistry::verify() {
  std::set<std::string> key_set(tracked_);
  for (const auto& [key, value] : wanted()) key_set.insert(key);
  for (const auto& key : maybe_present_) key_set.insert(key);
  if (key_set.empty()) {
    verify_needed_ = false;
    last_verify_ = clock_.now();
    return reconcile();
  }
  busy_ = true;
  auto chunks = split(std::vector<std::string>(key_set.begin(), key_set.end()), max_txn_ops_);
  struct Progress {
    std::size_t pending;
    std::optional<grpc::Status> failed;
    std::size_t corrected = 0;
  };
  auto progress = std::make_shared<Progress>(Progress{chunks.size(), std::nullopt});
  const auto lease = lease_id_;
  for (auto& c : chunks) {
    etcdserverpb::TxnRequest req;
    for (const auto& key : c) req.add_success()->mutable_request_range()->set_key(key);
    client_.txn(std::move(req), [self = weak_from_this(), c, progress, lease, sent = clock_.now()](
                                    const grpc::Status& status, etcdserverpb::TxnResponse&& resp) {
      auto s = self.lock();
      if (!s) return;
      s->observe("txn", status.ok(), sent);
      if (!status.ok()) {
        progress->failed = status;
      } else if (lease == s->lease_id_) {
        const auto wanted = s->wanted();
        for (int i = 0; i < resp.responses_size() && i < static_cast<int>(c.size()); ++i) {
          const auto& key = c[static_cast<std::size_t>(i)];
          const auto& kvs = resp.responses(i).response_range().kvs();
          const bool present = !kvs.empty();
          const bool mine = present && s->ours(kvs[0].lease());
          const auto want = wanted.find(key);
          if (want != wanted.end()) {
            const bool good = present && kvs[0].lease() == lease && kvs[0].value() == want->second;
            if (good && !s->written_.contains(key)) {
              s->written_[key] = want->second;  // an unconfirmed put did land
              s->written_id_[key] = s->id_of(key);
              s->maybe_present_.erase(key);
            } else if (!good && s->written_.erase(key) > 0) {
              ++progress->corrected;
            }
          } else if (mine) {
            if (s->maybe_present_.insert(key).second) ++progress->corrected;  // delete it
          } else {
            s->maybe_present_.erase(key);  // absent, or someone else's: not ours to touch
          }
        }
      }
      if (--progress->pending > 0) return;
      s->busy_ = false;
      if (s->shutting_down_) return;
      if (progress->failed) return s->on_call_failed("verify", *progress->failed);
      s->verify_needed_ = false;
      s->last_verify_ = s->clock_.now();
      if (progress->corrected > 0)
        spdlog::warn("registry: {} keys in etcd differed from what we wrote; correcting them",
                     progress->corrected);
      s->on_call_succeeded(false);
      s->reconcile();
    });
  }
}

void EtcdRegistry::write(Batch batch) {
  busy_ = true;
  etcdserverpb::TxnRequest req;
  for (const auto& op : batch) {
    if (op.kind == Op::Kind::Put) {
      auto* put = req.add_success()->mutable_request_put();
      put->set_key(op.key);
      put->set_value(op.value);
      put->set_lease(lease_id_);
      tracked_.insert(op.key);
    } else {
      req.add_success()->mutable_request_delete_range()->set_key(op.key);
    }
  }
  client_.txn(std::move(req), [self = weak_from_this(), batch = std::move(batch), lease = lease_id_,
                               sent = clock_.now()](const grpc::Status& status,
                                                    etcdserverpb::TxnResponse&&) {
    auto s = self.lock();
    if (!s) return;
    s->busy_ = false;
    s->observe("txn", status.ok(), sent);
    if (s->shutting_down_) return;
    if (!status.ok() || lease != s->lease_id_) {
      // Outcome unknown (or written under a lease we no longer hold): the keys may exist.
      for (const auto& op : batch)
        if (op.kind == Op::Kind::Put) s->maybe_present_.insert(op.key);
      if (!status.ok()) return s->on_call_failed("txn", status);
      return s->reconcile();
    }
    const auto now = s->clock_.now();
    std::size_t resynced = 0;
    for (const auto& op : batch) {
      if (s->is_owner_key(op.key)) {  // bookkeeping only: not an entry
        s->maybe_present_.erase(op.key);
        if (op.kind == Op::Kind::Put)
          s->written_[op.key] = op.value;
        else
          s->written_.erase(op.key);
        continue;
      }
      const std::string id = s->id_of(op.key);
      auto changed = s->changed_at_.find(op.key);
      const bool from_probe = changed != s->changed_at_.end();
      const auto ms = from_probe ? duration_cast<milliseconds>(now - changed->second).count() : 0;
      if (from_probe) s->changed_at_.erase(changed);
      s->maybe_present_.erase(op.key);
      if (op.kind == Op::Kind::Put) {
        s->written_[op.key] = op.value;
        s->written_id_[op.key] = id;
        if (from_probe)
          spdlog::info("registry: {} registered {} ms after probe result (key {})", id, ms, op.key);
        else
          ++resynced;
      } else {
        s->written_.erase(op.key);
        s->written_id_.erase(op.key);
        if (from_probe)
          spdlog::info("registry: {} removed {} ms after probe result (key {})", id, ms, op.key);
        else
          spdlog::info("registry: removed stale key {}", op.key);
      }
    }
    if (resynced > 0)
      spdlog::info("registry: wrote {} again under lease {}", entries(resynced),
                   lease_hex(s->lease_id_));
    s->on_call_succeeded(true);
    s->reconcile();
  });
}

// etcd answered. Only a write that went through ends a refusal (quota, permissions): a grant
// or a Range succeeding says nothing about whether writes are accepted again.
void EtcdRegistry::on_call_succeeded(bool was_write) {
  if (!auth_error_.empty()) {
    spdlog::info("registry: etcd authentication as user \"{}\" works again", spec_.etcd.username);
    auth_error_.clear();
  }
  if (was_write && !write_error_.empty()) {
    spdlog::info("registry: etcd accepts our writes again");
    write_error_.clear();
  }
  if (write_error_.empty()) backoff_.reset();
  set_connectivity(Connectivity::Up, "");
}

void EtcdRegistry::on_call_failed(const char* what, const grpc::Status& status) {
  const std::string message = std::string(what) + ": " + describe(status);
  if (is_lease_not_found(status)) {
    lease_lost(message);
    return reconcile();
  }
  if (is_auth_failure(status)) {
    // The message names the user and where the password comes from, never the password.
    if (status.error_message() != auth_error_)
      spdlog::error("registry: {}; retrying with backoff", status.error_message());
    auth_error_ = status.error_message();
    state_.last_error = auth_error_;
    return retry_later(backoff_);
  }
  if (is_connectivity_error(status)) {
    verify_needed_ = true;  // we cannot know what a timed-out write did
    set_connectivity(Connectivity::Down, message);
    watch_ready();
    return retry_later(backoff_);
  }
  // etcd answers, but refuses: log once per distinct refusal, retry with growing backoff.
  if (is_too_many_ops(status) && max_txn_ops_ > 1) {
    // Certain to fail again at this size, certain to progress at a smaller one: no waiting.
    max_txn_ops_ = std::max<std::size_t>(1, max_txn_ops_ / 2);
    spdlog::warn("registry: etcd allows fewer operations per transaction; using {}", max_txn_ops_);
    return reconcile();
  }
  if (message != write_error_)
    spdlog::warn("registry: etcd refused a request ({}); retrying with backoff", message);
  write_error_ = message;
  state_.last_error = message;
  retry_later(backoff_);
}

void EtcdRegistry::retry_later(runtime::Backoff& backoff) {
  if (retry_pending_ || shutting_down_) return;
  retry_pending_ = true;
  retry_timer_.expires_after(backoff.next());
  retry_timer_.async_wait([self = weak_from_this()](const boost::system::error_code& ec) {
    auto s = self.lock();
    if (!s || ec) return;
    s->retry_pending_ = false;
    s->reconcile();
  });
}

void EtcdRegistry::lease_lost(const std::string& why) {
  if (lease_id_ == 0) return;
  spdlog::warn(
      "registry: etcd lease {} lost ({}); granting a new one and writing every entry again",
      lease_hex(lease_id_), why);
  stale_leases_.push_back(lease_id_);
  for (const auto& [key, value] : written_) maybe_present_.insert(key);
  written_.clear();
  lease_id_ = 0;
  regrant_pending_ = true;
  verify_needed_ = false;
  if (keepalive_) keepalive_->cancel();
  keepalive_.reset();
  keepalive_sent_at_.reset();
  ++keepalive_generation_;
  keepalive_timer_.cancel();
  update_sync_state();
  // A lease lost within its first TTL (something keeps revoking it): do not spin on grants;
  // each such loss in a row waits longer. A lease that lives a full TTL resets this.
  if (clock_.now() - granted_at_ < std::chrono::seconds(lease_ttl_s_))
    retry_later(regrant_backoff_);
}

void EtcdRegistry::arm_keepalive(milliseconds delay) {
  const auto generation = ++keepalive_generation_;
  keepalive_timer_.expires_after(delay);
  keepalive_timer_.async_wait(
      [self = weak_from_this(), generation](const boost::system::error_code& ec) {
        auto s = self.lock();
        if (s && !ec && generation == s->keepalive_generation_) s->keepalive_tick();
      });
}

void EtcdRegistry::keepalive_tick() {
  keepalive_waiting_ = false;
  if (shutting_down_ || lease_id_ == 0) return;
  const auto now = clock_.now();
  const auto ttl = std::chrono::seconds(lease_ttl_s_);
  if (now - last_keepalive_ok_ > ttl) {
    lease_lost("no keepalive answer within the lease TTL");
    return reconcile();
  }
  if (spec_.etcd.resync_interval.count() > 0 && now - last_verify_ >= spec_.etcd.resync_interval &&
      state_.connectivity == Connectivity::Up) {
    verify_needed_ = true;
    last_verify_ = now;
    reconcile();
  }
  if (!keepalive_ || !keepalive_->open()) {
    keepalive_ = client_.open_keepalive(
        [self = weak_from_this()](const etcdserverpb::LeaseKeepAliveResponse& r) {
          if (auto s = self.lock()) s->on_keepalive(r);
        },
        [self = weak_from_this()](const grpc::Status& st) {
          if (auto s = self.lock()) s->on_keepalive_closed(st);
        });
  }
  // Timed from the oldest send not answered yet: answers come back in order.
  if (keepalive_->send(lease_id_) && !keepalive_sent_at_) keepalive_sent_at_ = clock_.now();
  // Renew at a third of the TTL; never faster than every 500 ms.
  arm_keepalive(std::max<milliseconds>(milliseconds(500), duration_cast<milliseconds>(ttl) / 3));
}

void EtcdRegistry::on_keepalive(const etcdserverpb::LeaseKeepAliveResponse& resp) {
  if (shutting_down_ || resp.id() != lease_id_ || lease_id_ == 0) return;
  if (keepalive_sent_at_) {
    observer_.keepalive_latency(clock_.now() - *keepalive_sent_at_);
    keepalive_sent_at_.reset();
  }
  if (resp.ttl() <= 0) {
    lease_lost("etcd answered the keepalive with TTL 0: the lease expired or was revoked");
    return reconcile();
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
    reconcile();
  }
}

void EtcdRegistry::on_keepalive_closed(const grpc::Status& status) {
  keepalive_.reset();
  keepalive_sent_at_.reset();
  if (shutting_down_) return;
  if (!status.ok()) observer_.request("keepalive_stream", false, std::chrono::nanoseconds(0));
  if (lease_id_ == 0) return;
  set_connectivity(Connectivity::Down, "keepalive stream: " + describe(status));
  keepalive_waiting_ = true;
  arm_keepalive(keepalive_backoff_.next());
  watch_ready();
}

void EtcdRegistry::watch_ready() {
  if (ready_polling_ || shutting_down_) return;
  ready_polling_ = true;
  seen_not_ready_ = false;
  ready_timer_.expires_after(kReadyPoll);
  ready_timer_.async_wait([self = weak_from_this()](const boost::system::error_code& ec) {
    if (auto s = self.lock(); s && !ec) s->ready_tick();
  });
}

// While etcd is unreachable: once the connection is up again (after having been down), the
// retry or keepalive reopen that waits out its backoff goes at once. A connection that stays up
// while calls fail (etcd without a leader, say) triggers nothing: the backoff paces those.
void EtcdRegistry::ready_tick() {
  ready_polling_ = false;
  if (shutting_down_) return;
  if (state_.connectivity == Connectivity::Up && !keepalive_waiting_) return;
  const bool was_down = seen_not_ready_;
  if (!client_.ready()) {
    ready_polling_ = true;
    seen_not_ready_ = true;
  } else if (!was_down) {
    ready_polling_ = true;
  }
  if (ready_polling_) {
    ready_timer_.expires_after(kReadyPoll);
    ready_timer_.async_wait([self = weak_from_this()](const boost::system::error_code& ec) {
      if (auto s = self.lock(); s && !ec) s->ready_tick();
    });
    return;
  }
  spdlog::debug("registry: connection to {} is up again; retrying now", client_.endpoint());
  if (retry_pending_) {
    retry_timer_.cancel();
    retry_pending_ = false;
  }
  if (keepalive_waiting_ && lease_id_ != 0) arm_keepalive(milliseconds(0));
  reconcile();
}

void EtcdRegistry::set_connectivity(Connectivity c, const std::string& error) {
  const bool changed = c != state_.connectivity;
  state_.connectivity = c;
  if (c == Connectivity::Down || write_error_.empty()) state_.last_error = error;
  if (!changed) return;
  if (c == Connectivity::Down)
    spdlog::warn("registry: etcd unreachable ({}); retrying with backoff", error);
  else if (c == Connectivity::Up)
    spdlog::info("registry: etcd reachable via {}", client_.endpoint());
  update_sync_state();
  if (on_state_) on_state_(state_);
}

void EtcdRegistry::update_sync_state() {
  const bool in_sync =
      lease_id_ != 0 && !verify_needed_ && maybe_present_.empty() && written_ == wanted();
  std::set<std::string> ids;
  for (const auto& [key, value] : written_)
    if (!is_owner_key(key)) ids.insert(id_of(key));
  const bool changed = in_sync != state_.in_sync || state_.registered_ids != ids;
  state_.in_sync = in_sync;
  state_.registered = ids.size();
  state_.registered_ids = std::move(ids);
  if (changed && on_state_) on_state_(state_);
}

// Every key we may have written lives on a lease of ours, so revoking our leases removes exactly
// our keys, atomically per lease, in one request for any number of services. Deleting by name
// could remove a key another owner wrote under the same name.
void EtcdRegistry::shutdown(std::chrono::milliseconds timeout, DoneCallback done) {
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  retry_timer_.cancel();
  ready_timer_.cancel();
  ++keepalive_generation_;
  keepalive_timer_.cancel();
  if (keepalive_) keepalive_->cancel();
  keepalive_.reset();

  std::vector<std::int64_t> leases(stale_leases_);
  if (lease_id_ != 0) leases.push_back(lease_id_);
  if (leases.empty()) {
    spdlog::info("registry: no lease held, nothing to deregister");
    return boost::asio::post(executor_, [self = weak_from_this()] {
      if (auto s = self.lock()) s->finish_shutdown(true);
    });
  }

  spdlog::info("registry: deregistering {} by revoking lease {}", entries(state_.registered),
               lease_hex(leases.back()));
  shutdown_timer_.expires_after(timeout);
  shutdown_timer_.async_wait([self = weak_from_this()](const boost::system::error_code& ec) {
    auto s = self.lock();
    if (!s || ec) return;
    spdlog::warn("registry: deregistration did not finish in time; entries expire with the lease");
    s->finish_shutdown(false);
  });
  shutdown_calls_ = static_cast<int>(leases.size());
  for (const auto id : leases) revoke_for_shutdown(id);
}

// Revokes one lease of ours; an outage (the client has failed over meanwhile, or etcd is
// restarting) is retried every 100 ms until the shutdown timer gives up.
void EtcdRegistry::revoke_for_shutdown(std::int64_t id) {
  client_.lease_revoke(id, [self = weak_from_this(), id, sent = clock_.now()](
                               const grpc::Status& status, etcdserverpb::LeaseRevokeResponse&&) {
    auto s = self.lock();
    if (!s || !s->shutdown_done_) return;
    s->observe("revoke", revoke_done(status), sent);
    if (is_connectivity_error(status)) {
      auto timer = std::make_shared<boost::asio::steady_timer>(s->executor_, milliseconds(100));
      timer->async_wait([self, id, timer](const boost::system::error_code& ec) {
        if (auto s2 = self.lock(); s2 && !ec) s2->revoke_for_shutdown(id);
      });
      return;
    }
    // NOT_FOUND: the lease (and its keys) is already gone, which is what we want.
    if (!status.ok() && status.error_code() != grpc::StatusCode::NOT_FOUND) {
      spdlog::warn("registry: revoking lease {} failed: {}", lease_hex(id), describe(status));
      s->shutdown_clean_ = false;
    }
    if (--s->shutdown_calls_ == 0) s->finish_shutdown(s->shutdown_clean_);
  });
}

// Gives back a lease of ours that nothing needs any more; its outcome only matters to metrics
// (a lease not revoked expires with its TTL).
void EtcdRegistry::revoke_stale(std::int64_t id) {
  client_.lease_revoke(id, [self = weak_from_this(), sent = clock_.now()](
                               const grpc::Status& status, etcdserverpb::LeaseRevokeResponse&&) {
    if (auto s = self.lock()) s->observe("revoke", revoke_done(status), sent);
  });
}

void EtcdRegistry::observe(const char* kind, bool ok, runtime::Clock::time_point sent) {
  observer_.request(kind, ok, clock_.now() - sent);
}

void EtcdRegistry::finish_shutdown(bool clean) {
  if (!shutdown_done_) return;
  shutdown_timer_.cancel();
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  written_.clear();
  maybe_present_.clear();
  state_.registered = 0;
  state_.registered_ids.clear();
  state_.in_sync = desired_.empty();
  if (clean) spdlog::info("registry: all entries removed and lease revoked");
  client_.cancel_all();
  done(clean);
}

}  // namespace registrar::registry::etcd
