// The ZooKeeper backend: one session per daemon, the analog of etcd's one lease. Every healthy
// service is an ephemeral node of that session (entry_format.*), under container parents that
// ZooKeeper removes once empty. Level-triggered like the other backends: whatever happens (a
// connection lost and resumed, the session expired, a node deleted from outside, a previous run's
// session still alive), the reaction is "make ZooKeeper hold the desired nodes again". The
// mechanics every backend shares come from registry/common/; this class decides:
// zookeeper_registry.cpp (the loop, writes and read-backs), zookeeper_registry_session.cpp (the
// session's events, the ownership record and the adoption of a previous run's nodes, shutdown).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/manifest.hpp"
#include "metrics/registry_observer.hpp"
#include "registry/common/connectivity_log.hpp"
#include "registry/common/reconcile_loop.hpp"
#include "registry/common/request_meter.hpp"
#include "registry/common/retry_schedule.hpp"
#include "registry/common/shutdown_latch.hpp"
#include "registry/registry.hpp"
#include "registry/zookeeper/node_plan.hpp"
#include "registry/zookeeper/zk_transport.hpp"
#include "runtime/backoff.hpp"
#include "runtime/clock.hpp"
#include "runtime/timer.hpp"

namespace registrar::registry::zookeeper {

class ZooKeeperRegistry final : public Registry,
                                public std::enable_shared_from_this<ZooKeeperRegistry> {
 public:
  // At most this many requests go out together in one pass (they are pipelined on the one
  // session, and all answered before the next pass).
  static constexpr std::size_t kMaxBatch = 256;

  // Reads the password file (if any) at each new session: `read_password` returns the
  // password, or nullopt with `error` set.
  using ReadPassword =
      std::function<std::optional<std::string>(const std::string& path, std::string& error)>;

  ZooKeeperRegistry(boost::asio::any_io_executor executor, const config::RegistrySpec& spec,
                    std::unique_ptr<ZkTransport> transport, const runtime::Clock& clock,
                    runtime::Backoff::Random random, ReadPassword read_password,
                    metrics::RegistryObserver& observer = metrics::null_registry_observer());
  ~ZooKeeperRegistry() override;

  void start(StateCallback on_state_change) override;
  void apply(const DesiredSet& desired) override;
  void shutdown(std::chrono::milliseconds timeout, DoneCallback done) override;
  RegistryState state() const override { return state_; }

 private:
  using time_point = runtime::Clock::time_point;
  // A group of requests sent together; the loop waits until every one has answered. Answers of
  // a batch from before the current session only count down.
  struct Batch {
    std::size_t pending = 0;
    std::uint64_t session_epoch = 0;
  };

  // The loop (zookeeper_registry.cpp).
  void pass();
  std::shared_ptr<Batch> begin_batch();
  // One answer of `batch` came (after it has been handled); the last one ends the batch.
  void settle(const std::shared_ptr<Batch>& batch);
  bool current(const std::shared_ptr<Batch>& batch) const;
  void create_parents();
  void verify();
  void on_verified(std::shared_ptr<Batch> b, std::string path, time_point sent, int code,
                   const std::string& data, const NodeStat& stat);
  void write(const NodePlan& plan);
  void replace_own();
  void session_lost(const std::string& why);
  void on_created(std::shared_ptr<Batch> b, std::string path, std::string data, time_point sent,
                  int code, const NodeStat& stat);
  void on_set(std::shared_ptr<Batch> b, std::string path, std::string data, time_point sent,
              int code, const NodeStat& stat);
  void on_removed(std::shared_ptr<Batch> b, std::string path, time_point sent, int code);
  // A request's answer that is not one of its expected outcomes.
  void failed(const std::string& what, const std::string& path, int code);
  void conflict(const std::string& path, std::int64_t holder);
  void arm_conflicts();
  void arm_resync();
  std::map<std::string, std::string> wanted() const;  // path -> data of the desired nodes
  void publish();

  // The session, the ownership record, adoption, shutdown (zookeeper_registry_session.cpp).
  void open_session();
  void on_session(std::uint64_t epoch, const SessionEvent& e);
  void on_connected(const SessionEvent& e);
  void write_record();
  void on_record_written(std::shared_ptr<Batch> b, time_point sent, int code, const NodeStat& stat);
  void adopt();
  void on_record_read(std::shared_ptr<Batch> b, time_point sent, int code, const std::string& data,
                      const NodeStat& stat);
  void on_names(std::shared_ptr<Batch> b, time_point sent, int code,
                const std::vector<std::string>& names);
  void on_children(std::shared_ptr<Batch> b, std::string parent, time_point sent, int code,
                   const std::vector<std::string>& kids);
  void on_scanned(std::shared_ptr<Batch> b, std::string path, time_point sent, int code,
                  const std::string& data, const NodeStat& stat);
  void take_over(const std::shared_ptr<Batch>& b);
  void finish_shutdown(bool clean);
  void close_session_for_shutdown();

  config::RegistrySpec spec_;
  const runtime::Clock& clock_;
  common::RequestMeter meter_;
  std::unique_ptr<ZkTransport> transport_;
  ReadPassword read_password_;
  std::string record_path_;

  RegistryState state_;
  StateCallback on_state_;
  common::ConnectivityLog connectivity_;
  common::RetrySchedule retry_;
  common::ReconcileLoop loop_;
  common::ShutdownLatch latch_;
  runtime::Timer connect_deadline_;  // no session within the session timeout: unreachable
  runtime::Timer resync_;            // the next read-back of our nodes
  runtime::Timer conflicts_timer_;   // the next look at a path held by another session
  // Disconnected for the negotiated session timeout: the server has expired the session by now
  // (or lost it: a wiped server also refuses a client that saw a newer zxid), so a new handle.
  runtime::Timer expiry_guard_;

  // The session.
  std::uint64_t epoch_ = 0;   // handles opened so far; events of older ones are ignored
  std::int64_t session_ = 0;  // 0: none yet (or expired)
  bool connected_ = false;
  bool had_session_ = false;  // a session existed before: the next one is a re-creation
  int negotiated_timeout_ms_ = 0;
  std::string server_;

  // What is wanted and what is there.
  bool applied_ = false;
  DesiredSet desired_;                                 // every managed service, healthy or not
  std::map<std::string, std::int64_t> registered_ms_;  // path -> Curator registrationTimeUTC
  std::map<std::string, OwnNode> own_;                 // ours in this session, confirmed
  std::set<std::string> unknown_;                      // outcome unknown: read back before anything
  std::set<std::string> parents_needed_;               // a create found no parent
  bool verify_all_ = false;                            // read back every node of ours and desired
  struct Conflict {
    std::int64_t holder = 0;
    runtime::Backoff backoff;
    time_point retry_at{};
  };
  std::map<std::string, Conflict> conflicts_;  // desired paths held by another session
  bool record_written_ = false;                // for this session
  std::int32_t record_version_ = -1;
  bool need_open_ = false;  // a new handle is due (after a failed open)
  bool closing_ = false;    // shutdown is closing the session
  // The look for a previous run's nodes: the session its record names, what is under the base
  // path, and the nodes of that session found there (path -> data, stat).
  struct Scan {
    std::int64_t previous = 0;
    std::size_t pending = 0;
    bool failed = false;
    std::vector<std::string> paths;
    std::map<std::string, std::pair<std::string, NodeStat>> found;
  };
  std::shared_ptr<Scan> scan_;
  // Earlier sessions of this daemon (this run's, and the previous run's adopted one): a node of
  // one of them at a desired path is ours, replaced atomically rather than a conflict.
  std::set<std::int64_t> own_sessions_;
  std::map<std::string, std::int32_t> replace_;  // path -> version of such a node
  bool adopted_ = false;                         // the previous run's nodes dealt with
  std::string refusal_;                          // the last refusal logged (NOAUTH, ...)
  DoneCallback shutdown_done_;
  bool shutting_down_ = false;
};

}  // namespace registrar::registry::zookeeper
