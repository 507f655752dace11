// The Eureka backend: every managed service is one instance of the application named by its
// upper-cased name, registered with its status (UP while the probe passes, DOWN while critical)
// and kept alive by a heartbeat every renewal_interval. Level-triggered: whatever happens (a
// server restarted without state, an instance evicted), the reaction is "make the server hold
// the desired set again": a heartbeat answered 404 registers the instance again at once. The
// servers of registry.eureka.urls are tried in order, the first that answers is kept. The
// mechanics every backend shares come from registry/common/; this class is the state machine:
// eureka_registry.cpp (the loop, failover, outcomes), eureka_registry_requests.cpp (one request
// per change and what each answer means), eureka_registry_shutdown.cpp.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
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
#include "registry/eureka/eureka_api.hpp"
#include "registry/http/transport.hpp"
#include "registry/registry.hpp"
#include "runtime/backoff.hpp"
#include "runtime/clock.hpp"
#include "runtime/timer.hpp"

namespace registrar::registry::eureka {

using http::HttpRequest;
using http::HttpResult;
using http::HttpTransport;
using http::Method;

class EurekaRegistry final : public Registry, public std::enable_shared_from_this<EurekaRegistry> {
 public:
  // One transport per server of spec.eureka.servers, in the same order (HttpClients in
  // production, scripted fakes in tests). `read_file` reads the password file (a secret).
  using ReadFile =
      std::function<std::optional<std::string>(const std::string& path, std::string& error)>;
  EurekaRegistry(boost::asio::any_io_executor executor, const config::RegistrySpec& spec,
                 std::vector<std::unique_ptr<HttpTransport>> transports,
                 const runtime::Clock& clock, runtime::Backoff::Random random,
                 ReadFile read_file = {},
                 metrics::RegistryObserver& observer = metrics::null_registry_observer());
  ~EurekaRegistry() override;

  void start(StateCallback on_state_change) override;
  void apply(const DesiredSet& desired) override;
  void shutdown(std::chrono::milliseconds timeout, DoneCallback done) override;
  RegistryState state() const override { return state_; }

  // The server requests go to now (its index in registry.eureka.urls), for tests.
  std::size_t current_server() const { return current_; }

 private:
  using time_point = runtime::Clock::time_point;
  using Completion = std::function<void(HttpResult&&)>;

  struct Entry {
    std::optional<Registration> desired;  // nullopt: take it out of service, then cancel it
    std::string fp;                       // fingerprint(*desired)
    std::string name;                     // the service name it is registered under
    bool registered = false;              // the server holds `registered_body`
    std::string registered_body;          // the body without status (fingerprint)
    std::string server_status;            // the status the server holds, when registered
    bool attempted = false;               // a registration was sent: it may be in the server
    bool lost = false;                    // the server lost it: its next registration re-grants
    time_point renewed_at{};              // last registration or heartbeat answered 2xx
    std::optional<time_point> retry_at;   // refused (400): its own backoff
    std::optional<runtime::Backoff> backoff;
  };
  enum class Action { None, Forget, Register, Status, Heartbeat, Cancel };
  struct Plan {
    Action action = Action::None;
    time_point at{};
  };

  // The loop (eureka_registry.cpp).
  void pass();
  Plan plan(const Entry& e) const;  // plan_now, held back by a refusal's backoff
  Plan plan_now(const Entry& e) const;
  void clear_refusal(Entry& e);
  std::string desired_status(const Entry& e) const;
  std::string fingerprint(const Registration& reg) const;
  void touch(const std::string& id);
  void send(std::string_view kind, Method method, std::string target, std::string body,
            Completion on_done);
  void on_answer(std::string kind, time_point sent, std::size_t server, const Completion& on_done,
                 HttpResult r);
  // A server error or no answer: the next server, or the backoff once every one failed.
  void on_failure(const std::string& what, const HttpResult& r);
  void on_success();
  void retry_within_lease();
  void publish_state();
  std::vector<http::Header> headers() const;
  const std::string& base() const;

  // One request per change (eureka_registry_requests.cpp).
  void register_instance(const std::string& id);
  void on_registered(const std::string& id, const std::string& fp, const std::string& status,
                     HttpResult&& r);
  void put_status(const std::string& id, const std::string& status);
  void on_status(const std::string& id, const std::string& status, HttpResult&& r);
  void heartbeat(const std::string& id);
  void on_heartbeat(const std::string& id, time_point sent, HttpResult&& r);
  void cancel(const std::string& id);
  void on_cancelled(const std::string& id, HttpResult&& r);
  void lost(const std::string& id, const std::string& why);
  void refused(const std::string& id, const std::string& what, const HttpResult& r);

  // Shutdown (eureka_registry_shutdown.cpp).
  void cancel_for_shutdown(const std::string& id);
  void on_shutdown_cancelled(const std::string& id, time_point sent, HttpResult r);
  void finish_shutdown(bool clean);

  config::RegistrySpec spec_;
  LeaseSettings lease_;
  const runtime::Clock& clock_;
  common::RequestMeter meter_;
  std::vector<std::unique_ptr<HttpTransport>> transports_;
  ReadFile read_file_;
  std::string authorization_;  // "Basic ...", or "" without auth; a secret

  std::size_t current_ = 0;          // the server in use
  std::size_t failed_in_a_row_ = 0;  // servers that failed since the last answer

  RegistryState state_;
  StateCallback on_state_;
  common::ConnectivityLog connectivity_;
  common::RetrySchedule retry_;
  common::ReconcileLoop loop_;
  runtime::Timer tick_;  // the next heartbeat, or a refused entry's retry
  common::ShutdownLatch latch_;
  DoneCallback shutdown_done_;

  std::map<std::string, Entry> entries_;
  common::DueQueue<std::string> due_;      // when each entry next needs a request
  common::DueQueue<std::string> renewed_;  // registered entries by their last renewal
  bool applied_ = false;
  common::SyncBook book_{state_};  // registered ids; entries with more than a heartbeat to send
  std::string refusal_;            // the last refusal, logged once per change
};

}  // namespace registrar::registry::eureka
