// The etcd backend: one lease per daemon, kept alive on one stream, every key attached to it.
// Level-triggered: whatever happens (lease loss, etcd restart, reconnect), the reaction is
// "make etcd equal to the desired set again".
//
// The mechanics every backend shares come from the backend kit (registry/common/): the
// one-request-in-flight loop, the retry and its fast path on reconnect, the shutdown latch, the
// connectivity log, the metrics calls. What is etcd's own is implemented in three files:
// etcd_registry.cpp (apply, the reconcile pass, what a failure means, shutdown),
// etcd_registry_lease.cpp (grant, keepalive, loss, revoke) and etcd_registry_keys.cpp (adopting
// a previous run's keys, verify, write). Each call to etcd is a pair: the member that sends it,
// and the member its completion hops back to (common::bind_weak), as in Boost.Beast's examples.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "config/manifest.hpp"
#include "metrics/registry_observer.hpp"
#include "registry/common/connectivity_log.hpp"
#include "registry/common/reconcile_loop.hpp"
#include "registry/common/reconnect_watch.hpp"
#include "registry/common/request_meter.hpp"
#include "registry/common/retry_schedule.hpp"
#include "registry/common/shutdown_latch.hpp"
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
  RegistryState state() const override { return state_; }
  // Grants the lease (and, with an owner, first looks for a previous run's).
  void start(StateCallback on_state_change) override;
  // Puts the passing entries under our lease, deletes the others; unchanged ones see no write.
  void apply(const DesiredSet& desired) override;
  // Revokes every lease of ours, which deletes exactly our keys.
  void shutdown(std::chrono::milliseconds timeout, DoneCallback done) override;

 private:
  using time_point = runtime::Clock::time_point;

  // What must be in etcd for one passing service.
  struct DesiredEntry {
    std::string id;
    std::string value;
  };

  // ---- the reconcile pass and its outcomes (etcd_registry.cpp)
  // One step towards etcd holding wanted(); loop_ runs it whenever nothing is in flight.
  void reconcile_pass();
  void on_call_succeeded(bool was_write);
  void on_call_failed(const char* what, const grpc::Status& status);
  void set_connectivity(Connectivity c, const std::string& error);
  void update_sync_state();
  void on_reconnected();
  bool shutting_down() const { return shutdown_.opened(); }
  void revoke_for_shutdown(std::int64_t lease);
  void on_shutdown_revoke(std::int64_t lease, time_point sent, const grpc::Status& status,
                          etcdserverpb::LeaseRevokeResponse&& resp);
  void on_shutdown_finished(bool clean, const DoneCallback& done);

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

  config::RegistrySpec spec_;
  const runtime::Clock& clock_;
  std::unique_ptr<EtcdTransport> transport_;
  EtcdTransport& client_;

  // ---- the backend kit
  RegistryState state_;
  StateCallback on_state_;
  common::RequestMeter meter_;
  common::RetrySchedule retry_;  // retries of grants and writes, on registry.backoff
  common::ReconcileLoop loop_;   // one etcd operation at a time
  // During an outage, polls the transport's connection state every kReadyPoll so that a retry
  // or keepalive reopen waiting out a long backoff goes at once when etcd answers again.
  common::ReconnectWatch reconnect_;
  common::ConnectivityLog connectivity_;
  common::ShutdownLatch shutdown_;
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
  bool revoking_ = false;         // shutdown revokes a lease: "all entries removed" is then true
  bool regrant_pending_ = false;  // a lease was lost: the next grant is a re-grant
  time_point granted_at_{};
  time_point last_keepalive_ok_{};
  time_point last_verify_{};
  std::shared_ptr<KeepAlive> keepalive_;
  // The oldest keepalive not answered yet, for its round trip; reset when the stream closes.
  std::optional<time_point> keepalive_sent_at_;
  runtime::Timer keepalive_timer_;  // the next renewal, or the stream's reopen after a backoff
  bool keepalive_waiting_ = false;  // the keepalive stream waits for its reopen backoff

  // ---- failures
  std::size_t max_txn_ops_ = kMaxTxnOps;  // halved if etcd says "too many operations"
  bool verify_needed_ = false;            // re-read our keys before trusting confirmed_
  std::string write_error_;               // the last refusal of a write, logged once per change
  std::string auth_error_;                // the last authentication failure, logged once per change
};

}  // namespace registrar::registry::etcd
