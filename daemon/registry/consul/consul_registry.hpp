// The Consul backend: every managed service is registered with the local agent, with one TTL
// check whose status is the probe's verdict. Level-triggered: whatever happens (agent restart,
// a service deregistered behind our back, a reaped check), the reaction is "make the agent hold
// the desired set again". The mechanics every backend shares (the one-request loop, retries,
// timers, connectivity, shutdown, metrics) come from registry/common/; this class is the state
// machine: consul_registry.cpp (the loop and its outcomes), consul_registry_schedule.cpp (what
// each entry needs next and when: a due-time queue, so that a pass costs O(log N)),
// consul_registry_startup.cpp (the start-up sweep and adoption), consul_registry_requests.cpp
// (one request per change, and what each answer means), consul_registry_shutdown.cpp.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "config/manifest.hpp"
#include "metrics/registry_observer.hpp"
#include "registry/common/connectivity_log.hpp"
#include "registry/common/due_queue.hpp"
#include "registry/common/reconcile_loop.hpp"
#include "registry/common/request_meter.hpp"
#include "registry/common/retry_schedule.hpp"
#include "registry/common/shutdown_latch.hpp"
#include "registry/common/sync_book.hpp"
#include "registry/consul/agent_request.hpp"
#include "registry/consul/consul_api.hpp"
#include "registry/consul/token.hpp"
#include "registry/registry.hpp"
#include "runtime/backoff.hpp"
#include "runtime/clock.hpp"
#include "runtime/timer.hpp"

namespace registrar::registry::consul {

struct RequestKind;  // what a request is, for metrics (consul_registry.cpp)

class ConsulRegistry final : public Registry, public std::enable_shared_from_this<ConsulRegistry> {
 public:
  // `transport` is an HttpClient in production, a scripted fake in tests. `observer` hears of
  // every request, TTL check update and re-registration after a loss (metrics); it must
  // outlive this.
  ConsulRegistry(boost::asio::any_io_executor executor, const config::RegistrySpec& spec,
                 std::unique_ptr<HttpTransport> transport, const runtime::Clock& clock,
                 runtime::Backoff::Random random, Token::ReadFile read_file = Token::read_file,
                 metrics::RegistryObserver& observer = metrics::null_registry_observer());
  ~ConsulRegistry() override;

  // Registry
  void start(StateCallback on_state_change) override;
  void apply(const DesiredSet& desired) override;
  void shutdown(std::chrono::milliseconds timeout, DoneCallback done) override;
  RegistryState state() const override { return state_; }

 private:
  using time_point = runtime::Clock::time_point;
  // What to do with the agent's answer to one request of the loop.
  using Completion = std::function<void(HttpResult&&)>;

  // One service id we manage, or may have registered.
  struct Entry {
    std::optional<Registration> desired;  // what apply() asks for; nullopt: remove it
    std::string fingerprint;              // register body of `desired`, status left out
    bool registered = false;              // confirmed: the agent holds `registered_fingerprint`
    std::string registered_fingerprint;
    bool attempted = false;                    // a register was sent: it may be in the agent
    bool stale = false;                        // ours in the agent, not desired: deregister it
    std::optional<Health> pushed;              // the check status the agent holds, when known
    bool output_pending = false;               // registered, Output not pushed yet
    bool push_now = false;                     // apply() changed the health: push it at once
    time_point refreshed_at{};                 // last confirmed TTL reset
    time_point verified_at{};                  // last GET of the service (or registration)
    std::optional<time_point> critical_since;  // our check has been critical since
    std::optional<time_point> changed_at;      // apply() changed it, not yet in the agent
    bool reaped = false;  // Consul reaped it while critical; registered again once passing
    bool lost_while_critical = false;  // registered again after a loss, still critical since
    bool lost = false;                 // the agent lost it; its next registration is a re-grant
    bool foreign = false;              // the id belongs to another owner: never touched
    // The agent refused a request for this service (403, 400): retried on its own backoff, so
    // that one refused service does not hold up the others.
    std::string refusal;
    std::optional<time_point> retry_at;
    std::optional<runtime::Backoff> backoff;
  };

  // What an entry needs next (consul_registry_schedule.cpp), and from when.
  enum class Action { None, Forget, Deregister, Register, Push, Refresh, Verify };
  struct Plan {
    Action action = Action::None;
    time_point at{};
  };

  // The loop (consul_registry.cpp).
  void reconcile() { loop_.run(); }
  void pass();
  // `id`: the service the request concerns ("" for listings); its entry is rescheduled once the
  // answer has been handled.
  void send(const RequestKind& kind, Method method, std::string target, std::string body,
            const std::string& id, Completion on_done);
  void on_answer(const RequestKind* kind, time_point sent, const std::string& id,
                 const Completion& on_done, HttpResult r);
  // Reports one answered (or failed) request, sent at `sent`, to the observer.
  void observe(const RequestKind& kind, const HttpResult& r, time_point sent);
  void on_success(bool was_write, const std::string& id = "");
  void on_failure(const std::string& what, const HttpResult& r, const std::string& id = "");
  void refused(const std::string& message, const std::string& id);
  // A 2xx answer whose body does not parse (`why`): a failing agent, as a 502 would be.
  void on_unreadable(const std::string& what, HttpResult&& r, const std::string& why,
                     const std::string& id = "");
  void reachable();
  // `cause`: the transport's error text, when the agent did not answer at all. `condition`: what
  // the log line calls it (an agent answering 5xx is not unreachable).
  void unreachable(const std::string& error, const std::string& cause = "",
                   const std::string& condition = "unreachable");
  void on_connectivity_change(bool recovered);
  void log_reload_token();
  std::string fingerprint_of(const Registration& reg) const;
  std::optional<config::ConsulWeights> weights_of(const std::string& id) const;

  // Scheduling (consul_registry_schedule.cpp): O(log N) per entry that changes, never a scan.
  Plan plan(const Entry& e) const;
  // Sends what the first due entry needs; false when nothing is due at `now`.
  bool act_on_due(time_point now);
  // Re-plans `id` after its entry changed (or went): its due time, and the sync bookkeeping.
  void touch(const std::string& id);
  void touch_all();
  void forget(std::map<std::string, Entry>::iterator it);
  void arm_tick(time_point now);
  // The agent unreachable or failing: retry on the backoff, but soon enough that a check still
  // alive is refreshed before its TTL runs out (a short burst of errors costs no check).
  void retry_within_ttl();
  // Publishes in_sync, registered ids and last_error, calling on_state_ on a change.
  void publish_state();
  // Start-up (consul_registry_startup.cpp).
  void sweep();
  void on_services_listed(HttpResult&& r);
  void adopt(std::map<std::string, AgentService> ours);
  void on_checks_listed(const std::map<std::string, AgentService>& ours, HttpResult&& r);

  // One request per change (consul_registry_requests.cpp).
  void register_service(const std::string& id);
  void on_registered(const std::string& id, const std::string& fingerprint, Health health,
                     HttpResult&& r);
  void update_check(const std::string& id);
  void on_check_updated(const std::string& id, Health health, HttpResult&& r);
  void verify(const std::string& id);
  void on_service_read(const std::string& id, HttpResult&& r);
  void deregister(const std::string& id);
  void on_deregistered(const std::string& id, HttpResult&& r);
  void lost(const std::string& id, const std::string& why);

  // Shutdown (consul_registry_shutdown.cpp).
  void deregister_for_shutdown(const std::string& id);
  void on_shutdown_deregistered(const std::string& id, time_point sent, HttpResult r);
  void finish_shutdown(bool clean);

  config::RegistrySpec spec_;
  CheckSettings check_;
  const runtime::Clock& clock_;
  common::RequestMeter meter_;
  std::unique_ptr<HttpTransport> transport_;
  Token token_;

  RegistryState state_;
  StateCallback on_state_;
  common::ConnectivityLog connectivity_;
  // The agent unreachable or failing, or refusing a listing: the next pass waits its backoff.
  common::RetrySchedule retry_;
  common::ReconcileLoop loop_;   // one request at a time
  runtime::Timer tick_;          // the next TTL refresh, read-back or per-service retry
  common::ShutdownLatch latch_;  // shutdown's deadline; done called once
  DoneCallback shutdown_done_;

  std::map<std::string, Entry> entries_;
  common::DueQueue<std::string> due_;        // when each entry next needs a request
  common::DueQueue<std::string> refreshed_;  // live TTL checks, by their last confirmed reset
  common::SyncBook book_{state_};            // registered ids, entries not yet as desired
  std::set<std::string> refused_ids_;        // entries the agent refused (their own backoff)
  std::set<std::string> foreign_ids_;        // desired ids registered by another owner
  bool applied_ = false;       // apply() was called at least once: the desired set is known
  bool swept_ = false;         // the start-up look at the agent is done
  std::string refusal_;        // the last refusal (403, 400), logged once per change
  std::string token_error_;    // the last token file problem, logged once per change
  bool reload_token_ = false;  // the agent answered 403: read the token file again first
  std::string conflict_;  // a problem of one service: a refusal, or its id held by another owner
};

}  // namespace registrar::registry::consul
