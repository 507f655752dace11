// The Consul backend: every managed service is registered with the local agent, with one TTL
// check whose status is the probe's verdict. Level-triggered: whatever happens (agent restart,
// a service deregistered behind our back, a reaped check), the reaction is "make the agent hold
// the desired set again".
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/manifest.hpp"
#include "metrics/registry_observer.hpp"
#include "registry/consul/consul_api.hpp"
#include "registry/consul/http_transport.hpp"
#include "registry/consul/token.hpp"
#include "registry/registry.hpp"
#include "runtime/backoff.hpp"
#include "runtime/clock.hpp"

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

  void start(StateCallback on_state_change) override;
  void apply(const DesiredSet& desired) override;
  void shutdown(std::chrono::milliseconds timeout, DoneCallback done) override;
  RegistryState state() const override { return state_; }

 private:
  using time_point = runtime::Clock::time_point;

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

  void reconcile();
  bool next_urgent(time_point now);
  bool next_routine(time_point now);
  void sweep();
  void adopt(std::map<std::string, AgentService> ours);
  void register_service(const std::string& id);
  void update_check(const std::string& id);
  void verify(const std::string& id);
  void deregister(const std::string& id);
  void lost(const std::string& id, const std::string& why);

  void send(const RequestKind& kind, Method method, std::string target, std::string body,
            std::function<void(ConsulRegistry&, HttpResult&&)> on_done);
  // Reports one answered (or failed) request, sent at `sent`, to the observer.
  void observe(const RequestKind& kind, const HttpResult& r, time_point sent);
  void on_success(bool was_write, const std::string& id = "");
  void on_failure(const std::string& what, const HttpResult& r, const std::string& id = "");
  bool waiting(const Entry& e, time_point now) const { return e.retry_at && *e.retry_at > now; }
  void retry_later();
  void arm_tick(time_point now);

  // `cause`: the transport's error text, when the agent did not answer at all.
  void set_connectivity(Connectivity c, const std::string& error, const std::string& cause = "");
  void update_sync_state();
  void deregister_for_shutdown(const std::string& id);
  void finish_shutdown(bool clean);
  void log_reload_token();
  std::string fingerprint_of(const Registration& reg) const;
  std::optional<config::ConsulWeights> weights_of(const std::string& id) const;

  boost::asio::any_io_executor executor_;
  config::RegistrySpec spec_;
  CheckSettings check_;
  const runtime::Clock& clock_;
  metrics::RegistryObserver& observer_;
  std::unique_ptr<HttpTransport> transport_;
  Token token_;
  runtime::Backoff::Random random_;
  runtime::Backoff backoff_;  // the agent unreachable or failing, or refusing a listing

  std::map<std::string, Entry> entries_;
  bool applied_ = false;  // apply() was called at least once: the desired set is known
  bool swept_ = false;    // the start-up look at the agent is done
  bool busy_ = false;     // one request at a time
  bool retry_pending_ = false;
  std::string refusal_;      // the last refusal (403, 400), logged once per change
  std::string token_error_;  // the last token file problem, logged once per change
  // The transport errors already logged in the current outage (at most kMaxDownCauses).
  std::vector<std::string> down_causes_;
  static constexpr std::size_t kMaxDownCauses = 8;
  bool reload_token_ = false;  // the agent answered 403: read the token file again first
  std::string conflict_;  // a problem of one service: a refusal, or its id held by another owner

  boost::asio::steady_timer tick_timer_;
  std::uint64_t tick_generation_ = 0;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer shutdown_timer_;

  RegistryState state_;
  StateCallback on_state_;
  bool shutting_down_ = false;
  DoneCallback shutdown_done_;
  std::size_t shutdown_pending_ = 0;
  bool shutdown_clean_ = true;
};

}  // namespace registrar::registry::consul
