// The Nacos backend: every healthy service is an ephemeral instance of the Nacos service of its
// name (namespace, group and cluster from registry.nacos), registered with its meta plus
// gRPC_port and kept alive by a beat per instance at the interval the server answers. An
// unhealthy service is deregistered, not disabled: a client asking for healthy instances then
// sees exactly the healthy ones, and a server that lost the instance cannot bring it back from a
// beat (docs/nacos.md). Level-triggered like the other backends: whatever happens (the server
// restarted without its data, a 20404, a failover to the next server), the reaction is "make the
// server hold the healthy set again". The mechanics come from registry/common/; this class
// decides: nacos_registry.cpp (the loop, answers, failures and failover),
// nacos_registry_requests.cpp (one request per need, and what each answer means),
// nacos_registry_shutdown.cpp.
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
#include "registry/common/due_queue.hpp"
#include "registry/common/reconcile_loop.hpp"
#include "registry/common/request_meter.hpp"
#include "registry/common/retry_schedule.hpp"
#include "registry/common/shutdown_latch.hpp"
#include "registry/common/sync_book.hpp"
#include "registry/http/transport.hpp"
#include "registry/nacos/nacos_api.hpp"
#include "registry/nacos/nacos_login.hpp"
#include "registry/registry.hpp"
#include "runtime/backoff.hpp"
#include "runtime/clock.hpp"
#include "runtime/timer.hpp"

namespace registrar::registry::nacos {

using http::HttpResult;
using http::HttpTransport;

class NacosRegistry final : public Registry, public std::enable_shared_from_this<NacosRegistry> {
 public:
  // One transport per server of registry.nacos.servers, in the same order (HttpClients in
  // production, scripted fakes in tests). `observer` must outlive this.
  NacosRegistry(boost::asio::any_io_executor executor, const config::RegistrySpec& spec,
                std::vector<std::unique_ptr<HttpTransport>> servers, const runtime::Clock& clock,
                runtime::Backoff::Random random, Login::ReadFile read_file = Login::read_file,
                metrics::RegistryObserver& observer = metrics::null_registry_observer());
  ~NacosRegistry() override;

  void start(StateCallback on_state_change) override;
  void apply(const DesiredSet& desired) override;
  void shutdown(std::chrono::milliseconds timeout, DoneCallback done) override;
  RegistryState state() const override { return state_; }

  // The server requests go to now (an index into the servers), for tests and status.
  std::size_t current_server() const { return current_; }

 private:
  using time_point = runtime::Clock::time_point;

  struct Entry {
    std::optional<Registration> desired;  // healthy and wanted; nullopt: not in Nacos
    std::optional<Registration> written;  // what the server may hold (sent, or confirmed)
    bool confirmed = false;               // `written` is confirmed on the current server
    std::chrono::milliseconds interval = kDefaultBeatInterval;  // as the server last answered
    time_point beat_due{};
    // The server refused a registration (400): retried on the entry's own backoff.
    std::optional<time_point> retry_at;
    std::optional<runtime::Backoff> backoff;
  };
  enum class Action { None, Forget, Deregister, Register, Beat };
  struct Plan {
    Action action = Action::None;
    time_point at{};
  };

  // The loop (nacos_registry.cpp).
  void reconcile() { loop_.run(); }
  void pass();
  Plan plan(const Entry& e) const;
  void touch(const std::string& id);
  void arm_tick(time_point now);
  void publish_state();
  HttpTransport& server() { return *servers_[current_]; }
  using Completion = void (NacosRegistry::*)(const std::string&, HttpResult&&);
  void send(std::string_view kind, http::HttpRequest req, const std::string& id,
            Completion on_done);
  void on_answer(std::string_view kind, time_point sent, const std::string& id, Completion on_done,
                 HttpResult r);
  // Unanswered, 5xx or 429: the server is failing; the next one in the list takes over.
  void on_server_failure(const std::string& what, const HttpResult& r);
  void on_forbidden(const std::string& what, const HttpResult& r);
  void reachable();
  void retry_within_budget();

  // One request per need (nacos_registry_requests.cpp).
  void login();
  void on_login(const std::string& unused, HttpResult&& r);
  void register_instance(const std::string& id);
  void on_registered(const std::string& id, HttpResult&& r);
  void beat(const std::string& id);
  void on_beat(const std::string& id, HttpResult&& r);
  void deregister(const std::string& id);
  void on_deregistered(const std::string& id, HttpResult&& r);
  void refused(const std::string& id, const std::string& message);

  // Shutdown (nacos_registry_shutdown.cpp).
  void deregister_for_shutdown(const std::string& id, Registration reg);
  void on_shutdown_deregistered(const std::string& id, Registration reg, time_point sent,
                                HttpResult r);
  void finish_shutdown(bool clean);

  config::NacosSpec spec_;
  const runtime::Clock& clock_;
  common::RequestMeter meter_;
  std::vector<std::unique_ptr<HttpTransport>> servers_;
  std::size_t current_ = 0;
  std::size_t failures_in_a_row_ = 0;  // servers that failed since the last answer
  Login login_;
  int forbidden_in_a_row_ = 0;  // 403s since the last success: a second one is a refusal

  RegistryState state_;
  StateCallback on_state_;
  common::ConnectivityLog connectivity_;
  common::RetrySchedule retry_;
  common::ReconcileLoop loop_;
  runtime::Timer tick_;
  common::ShutdownLatch latch_;
  DoneCallback shutdown_done_;

  std::map<std::string, Entry> entries_;
  common::DueQueue<std::string> due_;
  common::DueQueue<std::string> beaten_;  // confirmed instances, by their last good beat
  common::SyncBook book_{state_};         // registered ids; entries not yet as desired
  std::string refusal_;                   // the last refusal, logged once per change
};

}  // namespace registrar::registry::nacos
