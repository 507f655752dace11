// The etcd backend: one lease per daemon, kept alive on one stream, every key attached to it.
// Level-triggered: whatever happens (lease loss, etcd restart, reconnect), the reaction is
// "make etcd equal to the desired set again".
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
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

  void start(StateCallback on_state_change) override;
  void apply(const DesiredSet& desired) override;
  void shutdown(std::chrono::milliseconds timeout, DoneCallback done) override;
  RegistryState state() const override { return state_; }

 private:
  struct Wanted {
    std::string id;
    std::string value;
  };

  void reconcile();
  void grant();
  void adopt();
  void adopt_keys(std::int64_t old_lease, const etcdserverpb::LeaseTimeToLiveResponse& resp);
  void verify();
  void write(Batch batch);
  void on_call_succeeded(bool was_write);
  void on_call_failed(const char* what, const grpc::Status& status);
  void lease_lost(const std::string& why);
  void retry_later(runtime::Backoff& backoff);
  void revoke_for_shutdown(std::int64_t id);
  void revoke_stale(std::int64_t id);
  // Reports one finished request, sent at `sent`, to the observer.
  void observe(const char* kind, bool ok, runtime::Clock::time_point sent);
  bool ours(std::int64_t lease) const;

  void arm_keepalive(std::chrono::milliseconds delay);
  void keepalive_tick();
  void on_keepalive(const etcdserverpb::LeaseKeepAliveResponse& resp);
  void on_keepalive_closed(const grpc::Status& status);

  void watch_ready();
  void ready_tick();

  void set_connectivity(Connectivity c, const std::string& error);
  void update_sync_state();
  void finish_shutdown(bool clean);
  std::string id_of(const std::string& key) const;
  // key -> value that must be in etcd under our lease: the desired entries, plus the ownership
  // record once there is something to own.
  std::map<std::string, std::string> wanted() const;
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

  std::map<std::string, Wanted> desired_;          // key -> what must be there
  std::map<std::string, std::string> written_;     // key -> value confirmed under lease_id_
  std::map<std::string, std::string> written_id_;  // key -> id, for log lines
  std::set<std::string> maybe_present_;            // keys that may exist under a lease of ours
  std::set<std::string> tracked_;  // every key we ever put (bounded by the manifest); verified
  std::map<std::string, runtime::Clock::time_point> changed_at_;  // key -> when apply() changed it
  std::map<std::string, std::string> named_;  // key -> id of every managed service, any health

  // Ownership: "<kOwnersPrefix><owner>", on our lease, naming it. At start (adopt_pending_), the
  // record a previous run left leads to that run's lease and its keys. Empty: no record.
  std::string owner_key_;
  bool adopt_pending_ = false;

  std::int64_t lease_id_ = 0;
  std::int64_t lease_ttl_s_ = 0;
  std::vector<std::int64_t> stale_leases_;  // earlier leases of ours, revoked once in sync
  std::size_t max_txn_ops_ = kMaxTxnOps;    // halved if etcd says "too many operations"
  bool busy_ = false;                       // one etcd operation at a time
  bool verify_needed_ = false;              // re-read our keys before trusting written_
  bool retry_pending_ = false;
  std::string write_error_;  // the last refusal of a write, logged once per change
  std::string auth_error_;   // the last authentication failure, logged once per change
  runtime::Clock::time_point granted_at_{};
  runtime::Clock::time_point last_keepalive_ok_{};
  runtime::Clock::time_point last_verify_{};
  // The oldest keepalive not answered yet, for its round trip; reset when the stream closes.
  std::optional<runtime::Clock::time_point> keepalive_sent_at_;
  bool regrant_pending_ = false;  // a lease was lost: the next grant is a re-grant

  std::shared_ptr<KeepAlive> keepalive_;
  boost::asio::steady_timer keepalive_timer_;
  std::uint64_t keepalive_generation_ = 0;  // a re-armed timer's stale handler does nothing
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer shutdown_timer_;
  // During an outage, polls the transport's connection state so that a retry waiting out a
  // long backoff goes at once when etcd answers again.
  boost::asio::steady_timer ready_timer_;
  bool ready_polling_ = false;
  bool seen_not_ready_ = false;     // the poll saw the connection down since it began
  bool keepalive_waiting_ = false;  // the keepalive stream waits for its reopen backoff

  RegistryState state_;
  StateCallback on_state_;
  bool shutting_down_ = false;
  DoneCallback shutdown_done_;
  int shutdown_calls_ = 0;
  bool shutdown_clean_ = true;
};

}  // namespace registrar::registry::etcd
