// The etcd backend: one lease per daemon, kept alive on one stream, every key attached to it.
// Level-triggered: whatever happens (lease loss, etcd restart, reconnect), the reaction is
// "make etcd equal to the desired set again".
//
// The class is implemented in three files: etcd_registry.cpp (the reconcile loop, what a
// failure means, connectivity, shutdown), etcd_registry_lease.cpp (grant, keepalive, loss,
// revoke) and etcd_registry_keys.cpp (adopting a previous run's keys, verify, write). Each call
// to etcd is a do_/on_ pair: the member that sends it, and the member its completion hops back
// to (through bind_weak), as in Boost.Beast's examples.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "config/manifest.hpp"
#include "metrics/registry_observer.hpp"
#include "registry/etcd/etcd_client.hpp"
#include "registry/etcd/key_format.hpp"
#include "registry/etcd/reconcile_plan.hpp"
#include "registry/registry.hpp"
#include "runtime/backoff.hpp"
#include "runtime/clock.hpp"
#include "runtime/timer.hpp"

namespace registrar::registry::etcd {

// Where ownership records live: outside every service prefix that go-kit's Instancer or
// gRPC-Go's resolver reads (<prefix>/<name>/ and <name>/, names never start with '/').
inline constexpr const char* kOwnersPrefix = "/grpc-registrar/owners/";

// How often the connection state is polled during an outage.
inline constexpr std::chrono::milliseconds kReadyPoll{200};

class EtcdRegistry final : public Registry, public std::enable_shared_from_this<EtcdRegistry> {
 public:
  // `transport` is an EtcdClient in production, a scripted fake in tests. `observer` hears of
  // every request, keepalive round trip and lease re-grant (metrics); it must outlive this.
  EtcdRegistry(boost::asio::any_io_executor executor, const config::RegistrySpec& spec,
               std::unique_ptr<EtcdTransport> transport, const runtime::Clock& clock,
               runtime::Backoff::Random random,
               metrics::RegistryObserver& observer = metrics::null_registry_observer());
  ~EtcdRegistry() override;

  // Registry
  void start(StateCallback on_state_change) override;
  void apply(const DesiredSet& desired) override;
  void shutdown(std::chrono::milliseconds timeout, DoneCallback done) override;
  RegistryState state() const override { return state_; }

 private:
  using time_point = runtime::Clock::time_point;

  // What must be in etcd for one passing service.
  struct DesiredEntry {
    std::string id;
    std::string value;
  };

  // A completion handler that calls `member(bound..., completion arguments...)` while this
  // registry lives, and does nothing once it is gone (Beast's bind_front_handler, holding a weak
  // reference: the transport may complete a call after the registry was destroyed).
  template <class Member, class... Bound>
  auto bind_weak(Member member, Bound... bound) {
    return [self = weak_from_this(), member, ... bound = std::move(bound)](auto&&... args) {
      if (auto registry = self.lock())
        ((*registry).*member)(bound..., std::forward<decltype(args)>(args)...);
    };
  }

  // ---- the reconcile loop and its outcomes (etcd_registry.cpp)
  void reconcile();
  void on_call_succeeded(bool was_write);
  void on_call_failed(const char* what, const grpc::Status& status);
  void retry_later(runtime::Backoff& backoff);
  void set_connectivity(Connectivity c, const std::string& error);
  void update_sync_state();
  void watch_ready();
  void on_ready_poll();
  void on_shutdown_revoke(std::int64_t lease, time_point sent, const grpc::Status& status,
                          etcdserverpb::LeaseRevokeResponse&& resp);
  void revoke_for_shutdown(std::int64_t lease);
  void finish_shutdown(bool clean);

  // ---- the lease (etcd_registry_lease.cpp)
  void grant();
  void on_grant(time_point sent, const grpc::Status& status,
                etcdserverpb::LeaseGrantResponse&& resp);
  void lease_lost(const std::string& why);
  void arm_keepalive(std::chrono::milliseconds delay);
  void on_keepalive_due();
  void on_keepalive(const etcdserverpb::LeaseKeepAliveResponse& resp);
  void on_keepalive_closed(const grpc::Status& status);
  // Gives back a lease of ours that nothing needs any more.
  void revoke_stale(std::int64_t lease);
  bool ours(std::int64_t lease) const;
  // Reports one finished request, sent at `sent`, to the observer.
  void observe(const char* kind, bool ok, time_point sent);

  // ---- what is in etcd: adoption, verify, write (etcd_registry_keys.cpp)
  struct VerifyProgress;
  void adopt();
  void on_owner_record(time_point sent, const grpc::Status& status,
                       etcdserverpb::TxnResponse&& resp);
  void on_previous_lease(std::int64_t previous, time_point sent, const grpc::Status& status,
                         etcdserverpb::LeaseTimeToLiveResponse&& resp);
  void verify();
  void on_verify_chunk(const std::shared_ptr<VerifyProgress>& progress,
                       const std::vector<std::string>& keys, std::int64_t lease, time_point sent,
                       const grpc::Status& status, etcdserverpb::TxnResponse&& resp);
  void on_verify_done(const VerifyProgress& progress);
  void write(Batch batch);
  void on_write_done(const Batch& batch, std::int64_t lease, time_point sent,
                     const grpc::Status& status, etcdserverpb::TxnResponse&& resp);
  // Books one operation of a write etcd confirmed; true if it was a put nobody asked for just
  // now (an entry written again after a lease loss or a verify).
  bool record_written(const Op& op, time_point now);

  // key -> value that must be in etcd under our lease: the desired entries, plus the ownership
  // record once there is something to own.
  std::map<std::string, std::string> wanted() const;
  std::string id_of(const std::string& key) const;
  bool is_owner_key(const std::string& key) const {
    return !owner_key_.empty() && key == owner_key_;
  }
  std::string owner_value() const;

  boost::asio::any_io_executor executor_;
  config::RegistrySpec spec_;
  const runtime::Clock& clock_;
  metrics::RegistryObserver& observer_;
  std::unique_ptr<EtcdTransport> transport_;
  EtcdTransport& client_;
  runtime::Backoff backoff_;            // retries of grants and writes
  runtime::Backoff keepalive_backoff_;  // reopening the keepalive stream
  runtime::Backoff regrant_backoff_;    // leases lost within their first TTL, in a row

  // ---- keys, each map indexed by etcd key
  // Every passing service: what must be in etcd under our lease.
  std::map<std::string, DesiredEntry> desired_entries_;
  // Every service the manifest names, whatever its health -> its id: who inherits a key that a
  // previous run left.
  std::map<std::string, std::string> manifest_ids_;
  // The value etcd holds under lease_id_, confirmed by a write's answer or by a Range.
  std::map<std::string, std::string> confirmed_;
  // The id a confirmed key was written for (not the ownership record), kept until the key is
  // deleted: its log line still names the service after the service left the manifest.
  std::map<std::string, std::string> confirmed_ids_;
  // Keys that may exist under a lease of ours without our knowing: a put whose answer never
  // came, a key of a lost lease or of a previous run. Verify confirms or deletes each.
  std::set<std::string> unconfirmed_;
  // Every key we ever put or inherited (bounded by the manifest): verify reads them all.
  std::set<std::string> ever_put_;
  // When apply() changed a key, until the write that follows: "registered N ms after probe".
  std::map<std::string, time_point> applied_at_;

  // Ownership: "<kOwnersPrefix><owner>", on our lease, naming it. At start (adopt_pending_), the
  // record a previous run left leads to that run's lease and its keys. Empty: no record.
  std::string owner_key_;
  bool adopt_pending_ = false;

  // ---- the lease
  std::int64_t lease_id_ = 0;
  std::int64_t lease_ttl_s_ = 0;
  std::vector<std::int64_t> stale_leases_;  // earlier leases of ours, revoked once in sync
  bool regrant_pending_ = false;            // a lease was lost: the next grant is a re-grant
  time_point granted_at_{};
  time_point last_keepalive_ok_{};
  time_point last_verify_{};
  std::shared_ptr<KeepAlive> keepalive_;
  // The oldest keepalive not answered yet, for its round trip; reset when the stream closes.
  std::optional<time_point> keepalive_sent_at_;
  runtime::Timer keepalive_timer_;  // the next renewal, or the stream's reopen after a backoff
  bool keepalive_waiting_ = false;  // the keepalive stream waits for its reopen backoff

  // ---- one operation at a time, and its failures
  std::size_t max_txn_ops_ = kMaxTxnOps;  // halved if etcd says "too many operations"
  bool busy_ = false;                     // one etcd operation at a time
  bool verify_needed_ = false;            // re-read our keys before trusting confirmed_
  runtime::Timer retry_timer_;            // armed: a retry waits out its backoff
  std::string write_error_;               // the last refusal of a write, logged once per change
  std::string auth_error_;                // the last authentication failure, logged once per change
  // During an outage, polls the transport's connection state so that a retry waiting out a
  // long backoff goes at once when etcd answers again. Armed: polling.
  runtime::Timer ready_timer_;
  bool seen_not_ready_ = false;  // the poll saw the connection down since it began

  RegistryState state_;
  StateCallback on_state_;

  // ---- shutdown
  bool shutting_down_ = false;
  DoneCallback shutdown_done_;
  runtime::Timer shutdown_timer_;
  // A revoke that met an outage is sent again after 100 ms, per lease.
  std::map<std::int64_t, runtime::Timer> revoke_retry_timers_;
  int shutdown_calls_ = 0;
  bool shutdown_clean_ = true;
};

}  // namespace registrar::registry::etcd
