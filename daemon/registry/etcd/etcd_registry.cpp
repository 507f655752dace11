#include "registry/etcd/etcd_registry.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

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

std::string describe(const grpc::Status& s) {
  return fmt::format("{} ({})", s.error_message(), static_cast<int>(s.error_code()));
}

std::vector<std::vector<std::string>> chunk(const std::vector<std::string>& keys) {
  std::vector<std::vector<std::string>> out;
  for (std::size_t i = 0; i < keys.size(); i += kMaxTxnOps)
    out.emplace_back(
        keys.begin() + static_cast<std::ptrdiff_t>(i),
        keys.begin() + static_cast<std::ptrdiff_t>(std::min(keys.size(), i + kMaxTxnOps)));
  return out;
}

}  // namespace

EtcdRegistry::EtcdRegistry(boost::asio::any_io_executor executor, const config::RegistrySpec& spec,
                           const runtime::Clock& clock, runtime::Backoff::Random random)
    : executor_(executor),
      spec_(spec),
      clock_(clock),
      client_(executor, spec.etcd.endpoints, spec.etcd.dial_timeout),
      backoff_(spec.backoff.initial, spec.backoff.max, spec.backoff.multiplier, spec.backoff.jitter,
               random),
      keepalive_backoff_(spec.backoff.initial, spec.backoff.max, spec.backoff.multiplier,
                         spec.backoff.jitter, random),
      keepalive_timer_(executor),
      retry_timer_(executor),
      shutdown_timer_(executor) {}

EtcdRegistry::~EtcdRegistry() {
  if (keepalive_) keepalive_->cancel();
}

void EtcdRegistry::start(StateCallback on_state_change) {
  on_state_ = std::move(on_state_change);
  reconcile();
}

void EtcdRegistry::apply(const DesiredSet& desired) {
  if (shutting_down_) return;
  std::map<std::string, Wanted> next;
  for (const auto& [id, reg] : desired) {
    Entry e = format_entry(spec_.etcd.format, spec_.etcd.prefix, reg);
    auto [it, inserted] = next.emplace(e.key, Wanted{id, e.value});
    if (!inserted) {
      spdlog::warn("registry: services {} and {} map to the same etcd key {}; keeping {}",
                   it->second.id, id, e.key, it->second.id);
    }
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

void EtcdRegistry::reconcile() {
  if (shutting_down_ || busy_ || retry_pending_) return;
  if (lease_id_ == 0) return grant();
  if (verify_needed_) return verify();
  std::map<std::string, std::string> want;
  for (const auto& [key, w] : desired_) want.emplace(key, w.value);
  auto batches = plan(want, written_, maybe_present_);
  if (batches.empty()) {
    update_sync_state();
    for (auto old : stale_leases_)  // keys left on an earlier lease of ours go with it
      client_.lease_revoke(old, [](const grpc::Status&, etcdserverpb::LeaseRevokeResponse&&) {});
    stale_leases_.clear();
    return;
  }
  write(std::move(batches.front()));
}

void EtcdRegistry::grant() {
  busy_ = true;
  const auto ttl_s = std::max<std::int64_t>(
      2, (spec_.etcd.lease_ttl.count() + 999) / 1000);  // whole seconds, etcd's minimum is 2
  client_.lease_grant(ttl_s, [self = weak_from_this()](const grpc::Status& status,
                                                       etcdserverpb::LeaseGrantResponse&& resp) {
    auto s = self.lock();
    if (!s) return;
    s->busy_ = false;
    if (s->shutting_down_) {
      if (status.ok() && resp.id() != 0)  // granted while we were stopping: give it back
        s->client_.lease_revoke(resp.id(),
                                [](const grpc::Status&, etcdserverpb::LeaseRevokeResponse&&) {});
      return;
    }
    if (!status.ok()) return s->on_call_failed("lease grant", status);
    if (!resp.error().empty() || resp.id() == 0) {
      s->set_state(Connectivity::Down, "lease grant refused: " + resp.error());
      return s->retry_later();
    }
    s->lease_id_ = resp.id();
    s->lease_ttl_s_ = resp.ttl();
    s->last_keepalive_ok_ = s->clock_.now();
    s->last_verify_ = s->clock_.now();
    s->verify_needed_ = false;  // a new lease holds nothing; maybe_present_ covers older keys
    spdlog::info("registry: etcd lease {} granted, TTL {}s, via {}", lease_hex(s->lease_id_),
                 s->lease_ttl_s_, s->client_.endpoint());
    s->mark_up();
    s->start_keepalive();
    s->reconcile();
  });
}

void EtcdRegistry::verify() {
  std::vector<std::string> keys;
  for (const auto& [key, w] : desired_) keys.push_back(key);
  if (keys.empty()) {
    verify_needed_ = false;
    last_verify_ = clock_.now();
    return reconcile();
  }
  busy_ = true;
  auto chunks = chunk(keys);
  auto pending = std::make_shared<std::size_t>(chunks.size());
  auto failed = std::make_shared<std::optional<grpc::Status>>();
  auto missing = std::make_shared<std::size_t>(0);
  const auto lease = lease_id_;
  for (auto& c : chunks) {
    etcdserverpb::TxnRequest req;
    for (const auto& key : c) req.add_success()->mutable_request_range()->set_key(key);
    client_.txn(std::move(req), [self = weak_from_this(), c, pending, failed, missing, lease](
                                    const grpc::Status& status, etcdserverpb::TxnResponse&& resp) {
      auto s = self.lock();
      if (!s) return;
      if (!status.ok()) {
        *failed = status;
      } else if (lease == s->lease_id_) {
        for (int i = 0; i < resp.responses_size() && i < static_cast<int>(c.size()); ++i) {
          const auto& key = c[static_cast<std::size_t>(i)];
          const auto& kvs = resp.responses(i).response_range().kvs();
          auto w = s->written_.find(key);
          const bool good = !kvs.empty() && kvs[0].lease() == lease && w != s->written_.end() &&
                            kvs[0].value() == w->second;
          if (!good && w != s->written_.end()) {
            s->written_.erase(w);
            ++*missing;
          }
        }
      }
      if (--*pending > 0) return;
      s->busy_ = false;
      if (s->shutting_down_) return;
      if (*failed) return s->on_call_failed("verify", **failed);
      s->verify_needed_ = false;
      s->last_verify_ = s->clock_.now();
      if (*missing > 0)
        spdlog::warn("registry: {} of our keys were missing or changed in etcd; writing them again",
                     *missing);
      s->mark_up();
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
    } else {
      req.add_success()->mutable_request_delete_range()->set_key(op.key);
    }
  }
  client_.txn(std::move(req), [self = weak_from_this(), batch = std::move(batch),
                               lease = lease_id_](const grpc::Status& status,
                                                  etcdserverpb::TxnResponse&&) {
    auto s = self.lock();
    if (!s) return;
    s->busy_ = false;
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
      spdlog::info("registry: wrote {} entries again under lease {}", resynced,
                   lease_hex(s->lease_id_));
    s->mark_up();
    s->reconcile();
  });
}

void EtcdRegistry::on_call_failed(const char* what, const grpc::Status& status) {
  if (is_lease_not_found(status)) {
    lease_lost(std::string(what) + ": " + status.error_message());
    return reconcile();
  }
  if (is_connectivity_error(status)) {
    client_.fail_over();
    verify_needed_ = true;  // we cannot know what a timed-out write did
  }
  set_state(Connectivity::Down, std::string(what) + ": " + describe(status));
  retry_later();
}

void EtcdRegistry::retry_later() {
  if (retry_pending_ || shutting_down_) return;
  retry_pending_ = true;
  retry_timer_.expires_after(backoff_.next());
  retry_timer_.async_wait([self = weak_from_this()](const boost::system::error_code& ec) {
    auto s = self.lock();
    if (!s || ec) return;
    s->retry_pending_ = false;
    s->reconcile();
  });
}

void EtcdRegistry::mark_up() {
  backoff_.reset();
  set_state(Connectivity::Up, "");
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
  verify_needed_ = false;
  if (keepalive_) keepalive_->cancel();
  keepalive_.reset();
  keepalive_timer_.cancel();
  update_sync_state();
}

void EtcdRegistry::start_keepalive() {
  if (keepalive_) keepalive_->cancel();
  keepalive_.reset();
  keepalive_timer_.cancel();
  keepalive_timer_.expires_after(milliseconds(0));
  keepalive_timer_.async_wait([self = weak_from_this()](const boost::system::error_code& ec) {
    if (auto s = self.lock(); s && !ec) s->keepalive_tick();
  });
}

void EtcdRegistry::keepalive_tick() {
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
  keepalive_->send(lease_id_);
  // Renew at a third of the TTL; never faster than every 500 ms.
  const auto period =
      std::max<milliseconds>(milliseconds(500), duration_cast<milliseconds>(ttl) / 3);
  keepalive_timer_.expires_after(period);
  keepalive_timer_.async_wait([self = weak_from_this()](const boost::system::error_code& ec) {
    if (auto s = self.lock(); s && !ec) s->keepalive_tick();
  });
}

void EtcdRegistry::on_keepalive(const etcdserverpb::LeaseKeepAliveResponse& resp) {
  if (shutting_down_ || resp.id() != lease_id_ || lease_id_ == 0) return;
  if (resp.ttl() <= 0) {
    lease_lost("etcd answered the keepalive with TTL 0: the lease expired or was revoked");
    return reconcile();
  }
  last_keepalive_ok_ = clock_.now();
  keepalive_backoff_.reset();
  const bool reconnected = state_.connectivity != Connectivity::Up;
  mark_up();
  if (reconnected) {
    // etcd 3.4 can acknowledge the renewal of a lease it no longer has: trust only a Range.
    verify_needed_ = true;
    reconcile();
  }
}

void EtcdRegistry::on_keepalive_closed(const grpc::Status& status) {
  keepalive_.reset();
  if (shutting_down_ || lease_id_ == 0) return;
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) client_.fail_over();
  set_state(Connectivity::Down, "keepalive stream: " + describe(status));
  keepalive_timer_.cancel();
  keepalive_timer_.expires_after(keepalive_backoff_.next());
  keepalive_timer_.async_wait([self = weak_from_this()](const boost::system::error_code& ec) {
    if (auto s = self.lock(); s && !ec) s->keepalive_tick();
  });
}

void EtcdRegistry::set_state(Connectivity c, const std::string& error) {
  const bool changed = c != state_.connectivity;
  state_.connectivity = c;
  state_.last_error = error;
  if (!changed) return;
  if (c == Connectivity::Down)
    spdlog::warn("registry: etcd unreachable ({}); retrying with backoff", error);
  else if (c == Connectivity::Up)
    spdlog::info("registry: etcd reachable via {}", client_.endpoint());
  update_sync_state();
  if (on_state_) on_state_(state_);
}

void EtcdRegistry::update_sync_state() {
  bool in_sync = lease_id_ != 0 && !verify_needed_ && maybe_present_.empty() &&
                 written_.size() == desired_.size();
  if (in_sync)
    for (const auto& [key, w] : desired_) {
      auto it = written_.find(key);
      if (it == written_.end() || it->second != w.value) {
        in_sync = false;
        break;
      }
    }
  const bool changed = in_sync != state_.in_sync || state_.registered != written_.size();
  state_.in_sync = in_sync;
  state_.registered = written_.size();
  if (changed && on_state_) on_state_(state_);
}

void EtcdRegistry::shutdown(std::chrono::milliseconds timeout, DoneCallback done) {
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  retry_timer_.cancel();
  keepalive_timer_.cancel();
  if (keepalive_) keepalive_->cancel();
  keepalive_.reset();

  std::set<std::string> keys(maybe_present_);
  for (const auto& [key, value] : written_) keys.insert(key);
  for (const auto& [key, w] : desired_) keys.insert(key);  // covers puts still in flight
  spdlog::info("registry: deregistering {} entries and revoking lease {}", written_.size(),
               lease_hex(lease_id_));

  shutdown_timer_.expires_after(timeout);
  shutdown_timer_.async_wait([self = weak_from_this()](const boost::system::error_code& ec) {
    auto s = self.lock();
    if (!s || ec) return;
    spdlog::warn("registry: deregistration did not finish in time; entries expire with the lease");
    s->finish_shutdown(false);
  });

  auto revoke = [self = weak_from_this()] {
    auto s = self.lock();
    if (!s) return;
    if (s->lease_id_ == 0) return s->finish_shutdown(s->shutdown_clean_);
    s->client_.lease_revoke(
        s->lease_id_, [self](const grpc::Status& status, etcdserverpb::LeaseRevokeResponse&&) {
          auto s2 = self.lock();
          if (!s2) return;
          if (!status.ok() && status.error_code() != grpc::StatusCode::NOT_FOUND) {
            spdlog::warn("registry: lease revoke failed: {}", describe(status));
            s2->shutdown_clean_ = false;
          }
          s2->finish_shutdown(s2->shutdown_clean_);
        });
  };

  if (keys.empty()) return boost::asio::post(executor_, revoke);
  auto chunks = chunk({keys.begin(), keys.end()});
  shutdown_calls_ = static_cast<int>(chunks.size());
  for (const auto& c : chunks) {
    etcdserverpb::TxnRequest req;
    for (const auto& key : c) req.add_success()->mutable_request_delete_range()->set_key(key);
    client_.txn(std::move(req), [self = weak_from_this(), revoke](const grpc::Status& status,
                                                                  etcdserverpb::TxnResponse&&) {
      auto s = self.lock();
      if (!s) return;
      if (!status.ok()) {
        spdlog::warn("registry: delete failed: {}", describe(status));
        s->shutdown_clean_ = false;
      }
      if (--s->shutdown_calls_ == 0) revoke();
    });
  }
}

void EtcdRegistry::finish_shutdown(bool clean) {
  if (!shutdown_done_) return;
  shutdown_timer_.cancel();
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  written_.clear();
  maybe_present_.clear();
  state_.registered = 0;
  state_.in_sync = desired_.empty();
  if (clean) spdlog::info("registry: all entries removed and lease revoked");
  client_.cancel_all();
  done(clean);
}

}  // namespace registrar::registry::etcd
