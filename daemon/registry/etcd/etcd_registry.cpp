// EtcdRegistry's reconcile pass on the kit's loop: apply(), the next step towards etcd holding
// the desired set, what a failed call means, sync state, and shutdown by revoking our leases.
#include "registry/etcd/etcd_registry.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "registry/common/bind_weak.hpp"
#include "registry/etcd/etcd_auth.hpp"
#include "registry/etcd/log_text.hpp"
#include "registry/etcd/reply_parse.hpp"

namespace registrar::registry::etcd {

EtcdRegistry::EtcdRegistry(boost::asio::any_io_executor executor, const config::RegistrySpec& spec,
                           std::unique_ptr<EtcdTransport> transport, const runtime::Clock& clock,
                           runtime::Backoff::Random random, metrics::RegistryObserver& observer)
    : spec_(spec),
      clock_(clock),
      transport_(std::move(transport)),
      client_(*transport_),
      meter_(observer, clock),
      retry_(executor, clock, spec.backoff, std::move(random), [this] { loop_.run(); }),
      loop_([this] { reconcile_pass(); }, retry_),
      reconnect_(
          executor, clock, kReadyPoll,
          {.ready = [this] { return client_.ready(); },
           .needed =
               [this] { return connectivity_.current() != Connectivity::Up || keepalive_waiting_; },
           .back = [this] { on_reconnected(); }}),
      connectivity_(state_, on_state_,
                    {.unreachable = [] { return std::string("etcd"); },
                     .reachable = [this] { return "etcd reachable via " + client_.endpoint(); }},
                    [this](bool /*recovered*/) { update_sync_state(); }),
      shutdown_(executor, clock),
      keepalive_backoff_(retry_.make_backoff()),
      regrant_backoff_(retry_.make_backoff()),
      keepalive_timer_(executor, clock) {
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
  loop_.run();
}

void EtcdRegistry::apply(const DesiredSet& desired) {
  if (shutting_down()) return;
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
  loop_.run();
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

void EtcdRegistry::reconcile_pass() {
  if (lease_id_ == 0) return grant();
  if (adopt_pending_) return adopt();
  if (verify_needed_) return verify();
  Batch batch = next_batch(wanted(), confirmed_, unconfirmed_, max_txn_ops_);
  if (batch.empty()) {
    for (auto old : stale_leases_)  // keys left on an earlier lease of ours go with it
      revoke_stale(old);
    stale_leases_.clear();
    state_.inherited_ids.clear();  // re-put under our lease by now, or removed
    update_sync_state();
    return;
  }
  write(std::move(batch));
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
  if (write_error_.empty()) retry_.reset();
  set_connectivity(Connectivity::Up, "");
}

void EtcdRegistry::on_call_failed(const char* what, const grpc::Status& status) {
  const std::string message = std::string(what) + ": " + describe(status);
  const Failure failure = classify_failure(status);
  if (failure == Failure::LeaseNotFound) {
    lease_lost(message);
    return loop_.run();
  }
  if (is_auth_failure(status)) {
    // The message names the user and where the password comes from, never the password.
    if (status.error_message() != auth_error_)
      spdlog::error("registry: {}; retrying with backoff", status.error_message());
    auth_error_ = status.error_message();
    state_.last_error = auth_error_;
    return retry_.later();
  }
  if (failure == Failure::Unreachable) {
    verify_needed_ = true;  // we cannot know what a timed-out write did
    set_connectivity(Connectivity::Down, message);
    reconnect_.start();
    return retry_.later();
  }
  // etcd answers, but refuses: log once per distinct refusal, retry with growing backoff.
  if (failure == Failure::TooManyOps && max_txn_ops_ > 1) {
    // Certain to fail again at this size, certain to progress at a smaller one: no waiting.
    max_txn_ops_ = std::max<std::size_t>(1, max_txn_ops_ / 2);
    spdlog::warn("registry: etcd allows fewer operations per transaction; using {}", max_txn_ops_);
    return loop_.run();
  }
  if (message != write_error_)
    spdlog::warn("registry: etcd refused a request ({}); retrying with backoff", message);
  write_error_ = message;
  state_.last_error = message;
  retry_.later();
}

// While etcd answers but refuses writes, last_error keeps the refusal: answering is not enough.
void EtcdRegistry::set_connectivity(Connectivity c, const std::string& error) {
  const bool refusal_stands = c != Connectivity::Down && !write_error_.empty();
  connectivity_.set(c, refusal_stands ? std::string(state_.last_error) : error);
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

// The connection, seen down during an outage, is up again: the retry or keepalive reopen that
// waits out its backoff goes at once.
void EtcdRegistry::on_reconnected() {
  spdlog::debug("registry: connection to {} is up again; retrying now", client_.endpoint());
  retry_.cut_short();
  if (keepalive_waiting_ && lease_id_ != 0) arm_keepalive(std::chrono::milliseconds(0));
  loop_.run();
}

// Every key we may have written lives on a lease of ours, so revoking our leases removes exactly
// our keys, atomically per lease, in one request for any number of services. Deleting by name
// could remove a key another owner wrote under the same name.
void EtcdRegistry::shutdown(std::chrono::milliseconds timeout, DoneCallback done) {
  if (shutting_down()) return;
  loop_.stop();
  retry_.stop();
  reconnect_.stop();
  keepalive_timer_.cancel();
  if (keepalive_) keepalive_->cancel();
  keepalive_.reset();
  shutdown_.open(
      timeout, [this, done = std::move(done)](bool clean) { on_shutdown_finished(clean, done); },
      [] {
        spdlog::warn(
            "registry: deregistration did not finish in time; entries expire with the lease");
      });

  std::vector<std::int64_t> leases(stale_leases_);
  if (lease_id_ != 0) leases.push_back(lease_id_);
  revoking_ = !leases.empty();
  if (leases.empty()) {
    spdlog::info("registry: no lease held, nothing to deregister");
    return shutdown_.finish_soon(true);
  }
  spdlog::info("registry: deregistering {} by revoking lease {}", entries(state_.registered),
               lease_hex(leases.back()));
  shutdown_.expect(leases.size());
  for (const auto lease : leases) revoke_for_shutdown(lease);
}

void EtcdRegistry::revoke_for_shutdown(std::int64_t lease) {
  client_.lease_revoke(
      lease, common::bind_weak(this, &EtcdRegistry::on_shutdown_revoke, lease, meter_.sent()));
}

// An outage (the client has failed over meanwhile, or etcd is restarting) is retried until the
// latch's timeout gives up.
void EtcdRegistry::on_shutdown_revoke(std::int64_t lease, time_point sent,
                                      const grpc::Status& status,
                                      etcdserverpb::LeaseRevokeResponse&& /*resp*/) {
  if (!shutdown_.active()) return;
  meter_.request("revoke", revoke_done(status), sent);
  if (classify_failure(status) == Failure::Unreachable)
    return shutdown_.again_after(common::kShutdownRetry,
                                 [this, lease] { revoke_for_shutdown(lease); });
  // NOT_FOUND: the lease (and its keys) is already gone, which is what we want.
  if (!revoke_done(status))
    spdlog::warn("registry: revoking lease {} failed: {}", lease_hex(lease), describe(status));
  shutdown_.settle(revoke_done(status));
}

void EtcdRegistry::on_shutdown_finished(bool clean, const DoneCallback& done) {
  confirmed_.clear();
  unconfirmed_.clear();
  state_.registered = 0;
  state_.registered_ids.clear();
  state_.in_sync = desired_entries_.empty();
  if (clean && revoking_) spdlog::info("registry: all entries removed and lease revoked");
  client_.cancel_all();
  done(clean);
}

}  // namespace registrar::registry::etcd
