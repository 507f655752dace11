// Wires one prober per service through rise/fall hysteresis into the desired set, and hands
// the desired set to the registry backend whenever it changes. Owns no threads: everything
// runs on the executor it is given.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "config/manifest.hpp"
#include "probe/hysteresis.hpp"
#include "probe/prober.hpp"
#include "registry/registry.hpp"
#include "runtime/clock.hpp"

namespace registrar::supervisor {

struct ServiceStatus {
  std::string id;
  std::string name;
  bool healthy = false;
  probe::Result last_result;
  std::optional<runtime::Clock::time_point> last_change;
};

class Supervisor {
 public:
  using ProberFactory = std::function<std::unique_ptr<probe::Prober>(const config::ServiceSpec&)>;

  Supervisor(boost::asio::any_io_executor executor, config::Manifest manifest,
             std::shared_ptr<registry::Registry> registry, ProberFactory make_prober,
             const runtime::Clock& clock);
  ~Supervisor();

  // Starts the registry and every prober.
  void start();

  // Stops every prober, empties the registry (bounded by manifest.shutdown_timeout), waits
  // manifest.drain, then calls done(clean). Idempotent.
  void shutdown(std::function<void(bool clean)> done);

  // Every managed service with its health verdict (see registry::Health); empty once stopping.
  registry::DesiredSet desired() const;
  std::vector<ServiceStatus> status() const;
  registry::RegistryState registry_state() const { return registry_->state(); }

 private:
  struct Service {
    config::ServiceSpec spec;
    probe::Hysteresis hysteresis;
    std::unique_ptr<probe::Prober> prober;
    probe::Result last_result;
    std::optional<runtime::Clock::time_point> last_change;
    bool probed = false;  // at least one result arrived
  };

  void on_result(const std::string& id, const probe::Result& result);

  boost::asio::any_io_executor executor_;
  config::Manifest manifest_;
  std::shared_ptr<registry::Registry> registry_;
  ProberFactory make_prober_;
  const runtime::Clock& clock_;
  std::map<std::string, Service> services_;  // by id
  boost::asio::steady_timer drain_timer_;
  bool stopping_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace registrar::supervisor
