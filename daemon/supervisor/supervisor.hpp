// Wires one prober per service through rise/fall hysteresis into the desired set, and hands
// the desired set to the registry backend whenever it changes. Owns no threads: everything
// runs on the executor it is given.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "config/manifest.hpp"
#include "probe/hysteresis.hpp"
#include "probe/prober.hpp"
#include "registry/registry.hpp"
#include "runtime/clock.hpp"
#include "runtime/timer.hpp"
#include "supervisor/reload_plan.hpp"

namespace registrar::supervisor {

struct ServiceStatus {
  std::string id;
  std::string name;
  bool healthy = false;
  probe::Result last_result;
  std::optional<runtime::Clock::time_point> last_change;
  // The wall-clock time of last_change, for humans only (never used to decide anything).
  std::optional<runtime::Clock::wall_time_point> last_change_wall;
};

// What reload() did. `applied` is false when the new manifest was refused as a whole (then
// `error` says why, in one line, and nothing changed).
struct ReloadResult {
  bool applied = false;
  std::string error;
  ReloadPlan plan;
};

// Always owned by a shared_ptr (create()): what comes back from the probers and the registry
// holds a weak reference, the daemon's one idiom for callbacks that may outlive their target.
class Supervisor : public std::enable_shared_from_this<Supervisor> {
  struct Key {
    explicit Key() = default;
  };

 public:
  using ProberFactory = std::function<std::unique_ptr<probe::Prober>(const config::ServiceSpec&)>;

  static std::shared_ptr<Supervisor> create(boost::asio::any_io_executor executor,
                                            config::Manifest manifest,
                                            std::shared_ptr<registry::Registry> registry,
                                            ProberFactory make_prober,
                                            const runtime::Clock& clock) {
    return std::make_shared<Supervisor>(Key{}, std::move(executor), std::move(manifest),
                                        std::move(registry), std::move(make_prober), clock);
  }
  // For create() only (the Key is private).
  Supervisor(Key, boost::asio::any_io_executor executor, config::Manifest manifest,
             std::shared_ptr<registry::Registry> registry, ProberFactory make_prober,
             const runtime::Clock& clock);
  ~Supervisor();

  // Starts the registry and every prober.
  void start();

  // Applies `next` in place: services it adds are probed and registered once healthy, services
  // it removes are stopped and deregistered, changed services keep their health verdict and are
  // rewritten once (a changed probe restarts the prober), unchanged ones are not touched and see
  // no registry write. Refused as a whole (nothing changes) when the registry section differs:
  // those settings apply on restart only. Also refused while draining or stopping.
  ReloadResult reload(config::Manifest next);

  // Deregisters every service at once and stops probing, but keeps running (the process stays
  // up until shutdown()): for a preStop hook, so that clients stop calling before the
  // application itself stops. Idempotent; nothing is registered again afterwards.
  void drain();
  bool draining() const { return drained_at_.has_value(); }

  // Asks the registry to empty itself (bounded by manifest.shutdown_timeout) at once, then stops
  // every prober (no probe result is looked at from the first step on), waits
  // manifest.drain (counted from drain() if that came first), then calls done(clean).
  // Idempotent.
  void shutdown(std::function<void(bool clean)> done);

  // Every managed service with its health verdict (see registry::Health); empty once draining
  // or stopping.
  registry::DesiredSet desired() const;
  std::vector<ServiceStatus> status() const;
  registry::RegistryState registry_state() const { return registry_->state(); }
  const config::Manifest& manifest() const { return manifest_; }

 private:
  struct Service {
    config::ServiceSpec spec;
    probe::Hysteresis hysteresis;
    std::unique_ptr<probe::Prober> prober;
    probe::Result last_result;
    std::optional<runtime::Clock::time_point> last_change;
    std::optional<runtime::Clock::wall_time_point> last_change_wall;
    bool probed = false;        // at least one result arrived
    bool seen_failure = false;  // at least one failed result arrived
  };

  Service make_service(const config::ServiceSpec& spec) const;
  void start_prober(const std::string& id, Service& svc);
  void on_result(const std::string& id, const probe::Result& result);
  void on_registry_state(const registry::RegistryState& state);
  void mark_changed(Service& svc);
  // Applies the desired set once the handlers ready now have run: a burst of verdict changes
  // (1000 services turning healthy at start-up) costs one apply, not one per change.
  void schedule_apply();
  void apply_now();
  // The registry is empty (or gave up): wait what is left of `drain`, then done(clean).
  void after_deregistration(bool clean, std::function<void(bool clean)> done);

  boost::asio::any_io_executor executor_;
  config::Manifest manifest_;
  std::shared_ptr<registry::Registry> registry_;
  ProberFactory make_prober_;
  const runtime::Clock& clock_;
  std::map<std::string, Service> services_;  // by id
  runtime::Timer drain_timer_;
  bool started_ = false;
  bool stopping_ = false;
  std::optional<runtime::Clock::time_point> drained_at_;
  bool drain_complete_logged_ = false;
  bool apply_pending_ = false;  // schedule_apply() has posted a handler that has not run yet
};

}  // namespace registrar::supervisor
