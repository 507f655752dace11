// What the daemon is doing right now, gathered for the status endpoints, the metrics and
// systemd's STATUS= line. It sees every probe result by wrapping the probers the supervisor
// creates, and reads the supervisor's and the registry's state; it changes nothing in either.
// Runs on the daemon's executor; time comes from the injected clock.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/manifest.hpp"
#include "metrics/daemon_metrics.hpp"
#include "probe/hysteresis.hpp"
#include "probe/prober.hpp"
#include "registry/registry.hpp"
#include "runtime/clock.hpp"
#include "runtime/timer.hpp"
#include "supervisor/supervisor.hpp"

namespace registrar::status {

enum class Registration { Registered, Pending, NotRegistered };
const char* to_string(Registration r);
const char* to_string(registry::Connectivity c);

struct ServiceView {
  std::string id;
  std::string name;
  std::string address;
  std::uint16_t port = 0;
  std::string probe_target;
  std::string probe_service;
  bool healthy = false;
  bool probed = false;  // at least one result
  probe::Result last_result;
  std::uint64_t results = 0;
  std::optional<runtime::Clock::time_point> last_result_at;
  std::optional<runtime::Clock::time_point> last_change_at;
  std::optional<runtime::Clock::wall_time_point> last_change_wall;  // for humans only
  Registration registration = Registration::NotRegistered;
  std::string last_error;  // the failing probe's detail, or the registry's error; "" when fine
};

struct Snapshot {
  std::string registry_kind;
  registry::RegistryState registry;
  std::vector<ServiceView> services;
  bool first_pass_done = false;  // every service probed once, and registered or the registry down
  bool registered_once = false;  // the registry has held every healthy service once since start
  bool ready = false;
  std::string not_ready_reason;  // "" when ready
  bool draining = false;
  bool stopping = false;
  runtime::Clock::time_point now{};
};

// Always owned by a shared_ptr (create()): the probers it wraps and its posted refresh hold a
// weak reference to it.
class Monitor : public std::enable_shared_from_this<Monitor> {
  struct Key {
    explicit Key() = default;
  };

 public:
  using StatusSource = std::function<std::vector<supervisor::ServiceStatus>()>;
  using RegistrySource = std::function<registry::RegistryState()>;

  static std::shared_ptr<Monitor> create(boost::asio::any_io_executor executor,
                                         const runtime::Clock& clock,
                                         metrics::DaemonMetrics& metrics,
                                         std::string registry_kind) {
    return std::make_shared<Monitor>(Key{}, std::move(executor), clock, metrics,
                                     std::move(registry_kind));
  }
  // For create() only (the Key is private).
  Monitor(Key, boost::asio::any_io_executor executor, const runtime::Clock& clock,
          metrics::DaemonMetrics& metrics, std::string registry_kind);

  // Where the supervisor's and the registry's state are read from (they may be set after the
  // supervisor exists, which needs the wrapped factory first). `draining` says whether the
  // supervisor has drained (by SIGUSR1 or POST /v1/drain); may be empty.
  void set_sources(StatusSource services, RegistrySource registry,
                   std::function<bool()> draining = {});

  // A prober factory whose probers report every result here after the supervisor has seen it.
  supervisor::Supervisor::ProberFactory wrap(supervisor::Supervisor::ProberFactory inner);
  // Wraps one prober so that its results reach this monitor too (wrap()'s factory calls it).
  std::unique_ptr<probe::Prober> observe(const config::ServiceSpec& spec,
                                         std::unique_ptr<probe::Prober> prober);

  // Called (on the executor) whenever readiness or the one-line summary may have changed.
  void on_change(std::function<void()> callback) { on_change_ = std::move(callback); }

  // Starts the periodic refresh: every 100 ms until the first registration pass is done, then
  // every second (the registry's state has no change callback of its own); never more often
  // than kRefreshSpacing times a refresh's own cost.
  void start();
  // Re-reads the sources, updates gauges and readiness, calls on_change. Also run by start()'s
  // timer and before every scrape.
  void refresh();

  void set_draining() {
    draining_ = true;
    refresh();
  }
  void set_stopping() {
    stopping_ = true;
    refresh();
  }

  // The first registration pass is done: every service has a probe result, and the registry
  // holds every healthy one, or is known to be down. Latched: once true, stays true.
  bool first_pass_done() const { return first_pass_done_; }
  Snapshot snapshot() const;
  // "2/3 healthy, 2 registered in etcd (up, in sync)"; used for systemd's STATUS=.
  std::string summary() const;
  static std::string summary_of(const Snapshot& s);

 private:
  struct Track {
    config::ServiceSpec spec;
    probe::Hysteresis hysteresis;
    probe::Result last;
    std::uint64_t results = 0;
    std::optional<runtime::Clock::time_point> last_result_at;
    bool healthy = false;
  };
  void on_result(const std::shared_ptr<Track>& track, const probe::Result& r);
  void sync(Track& t, bool supervisor_healthy);
  void arm();
  // refresh() once the handlers ready now have run: a burst of results costs one refresh. Until
  // the first pass every burst asks for one, and each reads every service: at N = 10,000 that
  // was O(N) per burst, O(N^2) before the first pass. So a refresh asked for sooner than
  // kRefreshSpacing times the last one's cost after it waits until then: refreshes take at most
  // 1/kRefreshSpacing of the event loop, and stay immediate while they are cheap (under a
  // millisecond at N = 1,000: at most 20 ms late).
  void schedule_refresh();
  runtime::Clock::time_point next_refresh_allowed() const;
  static constexpr int kRefreshSpacing = 20;
  // The supervisor's verdict for `id`, read from a copy of all of them made at most once between
  // two refreshes (reading them is O(N); this runs for every result until the first pass).
  std::optional<bool> supervisor_verdict(const std::string& id);

  boost::asio::any_io_executor executor_;
  runtime::Timer timer_;
  runtime::Timer spacing_timer_;  // a refresh asked for too soon after the last one
  const runtime::Clock& clock_;
  metrics::DaemonMetrics& metrics_;
  std::string registry_kind_;
  StatusSource services_source_;
  RegistrySource registry_source_;
  std::function<bool()> draining_source_;
  std::map<std::string, std::shared_ptr<Track>> tracks_;  // by service id
  std::function<void()> on_change_;
  bool first_pass_done_ = false;
  bool registered_once_ = false;
  bool draining_ = false;
  bool stopping_ = false;
  bool started_ = false;
  bool refresh_pending_ = false;
  std::optional<std::map<std::string, bool>> verdicts_;  // see supervisor_verdict()
  runtime::Clock::time_point last_refresh_at_{};
  runtime::Clock::duration last_refresh_cost_{};
};

}  // namespace registrar::status
