// EtcdRegistry's reconcile loop: apply(), one etcd operation at a time, what a failed call
// means, connectivity and sync state, the outage poll, and shutdown by revoking our leases.
#include "registry/etcd/etcd_registry.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "registry/etcd/etcd_auth.hpp"
#include "registry/etcd/log_text.hpp"
#include "registry/etcd/reply_parse.hpp"

namespace registrar::registry::etcd {

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
      keepalive_timer_(executor, clock),
      retry_timer_(executor, clock),
      ready_timer_(executor, clock),
      shutdown_timer_(executor, clock) {
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
  manifest_ids_.clear();
  for (const auto& [id, reg] : desired)
    manifest_ids_.emplace(format_entry(spec_.etcd.format, spec_.etcd.prefix, reg).key, id);
  std::map<std::string, DesiredEntry> next;
  for (const auto& [id, reg] : passing(desired)) {
    Entry e = format_entry(spec_.etcd.format, spec_.etcd.prefix, reg);
    next.emplace(std::move(e.key), DesiredEntry{id, std::move(e.value)});
  }
  const auto now = clock_.now();
  for (const auto& [key, entry] : next) {
    auto old = desired_entries_.find(key);
    if (old == desired_entries_.end() || old->second.value != entry.value) applied_at_[key] = now;
  }
  for (const auto& [key, entry] : desired_entries_)
    if (!next.contains(key)) applied_at_[key] = now;
  desired_entries_ = std::move(next);
  reconcile();
}

std::string EtcdRegistry::id_of(const std::string& key) const {
  if (auto it = desired_entries_.find(key); it != desired_entries_.end()) return it->second.id;
  if (auto it = confirmed_ids_.find(key); it != confirmed_ids_.end()) return it->second;
  return key;
}

std::map<std::string, std::string> EtcdRegistry::wanted() const {
  std::map<std::string, std::string> want;
  for (const auto& [key, entry] : desired_entries_) want.emplace(key, entry.value);
  // The ownership record goes in with the first entry (keys sort it first, so it shares that
  // entry's Txn) and stays while the lease lives: no write while nothing is registered.
  if (!owner_key_.empty() && (!desired_entries_.empty() || confirmed_.contains(owner_key_)))
    want.emplace(owner_key_, owner_value());
  return want;
}

std::string EtcdRegistry::owner_value() const {
  return nlohmann::json{{"owner", spec_.etcd.owner}, {"lease", lease_hex(lease_id_)}}.dump();
}

// One step towards etcd holding wanted(): each step's completion calls this again.
void EtcdRegistry::reconcile() {
  if (shutting_down_ || busy_ || retry_timer_.armed()) return;
  if (lease_id_ == 0) return grant();
  if (adopt_pending_) return adopt();
  if (verify_needed_) return verify();
  auto batches = plan(wanted(), confirmed_, unconfirmed_, max_txn_ops_);
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
  const Failure failure = classify_failure(status);
  if (failure == Failure::LeaseNotFound) {
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
  if (failure == Failure::Unreachable) {
    verify_needed_ = true;  // we cannot know what a timed-out write did
    set_connectivity(Connectivity::Down, message);
    watch_ready();
    return retry_later(backoff_);
  }
  // etcd answers, but refuses: log once per distinct refusal, retry with growing backoff.
  if (failure == Failure::TooManyOps && max_txn_ops_ > 1) {
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
  if (retry_timer_.armed() || shutting_down_) return;
  retry_timer_.arm_after(backoff.next(), [this] { reconcile(); });
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
      lease_id_ != 0 && !verify_needed_ && unconfirmed_.empty() && confirmed_ == wanted();
  std::set<std::string> ids;
  for (const auto& [key, value] : confirmed_)
    if (!is_owner_key(key)) ids.insert(id_of(key));
  const bool changed = in_sync != state_.in_sync || state_.registered_ids != ids;
  state_.in_sync = in_sync;
  state_.registered = ids.size();
  state_.registered_ids = std::move(ids);
  if (changed && on_state_) on_state_(state_);
}

void EtcdRegistry::watch_ready() {
  if (ready_timer_.armed() || shutting_down_) return;
  seen_not_ready_ = false;
  ready_timer_.arm_after(kReadyPoll, [this] { on_ready_poll(); });
}

// While etcd is unreachable: once the connection is up again (after having been down), the
// retry or keepalive reopen that waits out its backoff goes at once. A connection that stays up
// while calls fail (etcd without a leader, say) triggers nothing: the backoff paces those.
void EtcdRegistry::on_ready_poll() {
  if (shutting_down_) return;
  if (state_.connectivity == Connectivity::Up && !keepalive_waiting_) return;
  const bool was_down = seen_not_ready_;
  const bool ready = client_.ready();
  if (!ready) seen_not_ready_ = true;
  if (!ready || !was_down) {
    ready_timer_.arm_after(kReadyPoll, [this] { on_ready_poll(); });
    return;
  }
  spdlog::debug("registry: connection to {} is up again; retrying now", client_.endpoint());
  retry_timer_.cancel();
  if (keepalive_waiting_ && lease_id_ != 0) arm_keepalive(std::chrono::milliseconds(0));
  reconcile();
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
  keepalive_timer_.cancel();
  if (keepalive_) keepalive_->cancel();
  keepalive_.reset();

  std::vector<std::int64_t> leases(stale_leases_);
  if (lease_id_ != 0) leases.push_back(lease_id_);
  if (leases.empty()) {
    spdlog::info("registry: no lease held, nothing to deregister");
    return boost::asio::post(executor_, bind_weak(&EtcdRegistry::finish_shutdown, true));
  }

  spdlog::info("registry: deregistering {} by revoking lease {}", entries(state_.registered),
               lease_hex(leases.back()));
  shutdown_timer_.arm_after(timeout, [this] {
    spdlog::warn("registry: deregistration did not finish in time; entries expire with the lease");
    finish_shutdown(false);
  });
  shutdown_calls_ = static_cast<int>(leases.size());
  for (const auto lease : leases) revoke_for_shutdown(lease);
}

void EtcdRegistry::revoke_for_shutdown(std::int64_t lease) {
  client_.lease_revoke(lease, bind_weak(&EtcdRegistry::on_shutdown_revoke, lease, clock_.now()));
}

// An outage (the client has failed over meanwhile, or etcd is restarting) is retried every
// 100 ms until the shutdown timer gives up.
void EtcdRegistry::on_shutdown_revoke(std::int64_t lease, time_point sent,
                                      const grpc::Status& status,
                                      etcdserverpb::LeaseRevokeResponse&& /*resp*/) {
  if (!shutdown_done_) return;
  observe("revoke", revoke_done(status), sent);
  if (classify_failure(status) == Failure::Unreachable) {
    runtime::Timer& retry =
        revoke_retry_timers_.try_emplace(lease, executor_, clock_).first->second;
    retry.arm_after(std::chrono::milliseconds(100), [this, lease] { revoke_for_shutdown(lease); });
    return;
  }
  // NOT_FOUND: the lease (and its keys) is already gone, which is what we want.
  if (!revoke_done(status)) {
    spdlog::warn("registry: revoking lease {} failed: {}", lease_hex(lease), describe(status));
    shutdown_clean_ = false;
  }
  if (--shutdown_calls_ == 0) finish_shutdown(shutdown_clean_);
}

void EtcdRegistry::finish_shutdown(bool clean) {
  if (!shutdown_done_) return;
  shutdown_timer_.cancel();
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  confirmed_.clear();
  unconfirmed_.clear();
  state_.registered = 0;
  state_.registered_ids.clear();
  state_.in_sync = desired_entries_.empty();
  if (clean) spdlog::info("registry: all entries removed and lease revoked");
  client_.cancel_all();
  done(clean);
}

}  // namespace registrar::registry::etcd
