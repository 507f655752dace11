// The backend kit's metrics calls: each request to the registry timed on the injected clock and
// reported to the metrics::RegistryObserver, with the few other events metrics count.
#pragma once

#include <chrono>
#include <string_view>

#include "metrics/registry_observer.hpp"
#include "runtime/clock.hpp"

namespace registrar::registry::common {

class RequestMeter {
 public:
  using time_point = runtime::Clock::time_point;

  // Both must outlive this.
  RequestMeter(metrics::RegistryObserver& observer, const runtime::Clock& clock)
      : observer_(&observer), clock_(&clock) {}

  // When a request goes out: pass it back to request().
  time_point sent() const { return clock_->now(); }
  // A request of `kind` (a metric label from the backend's fixed set) sent at `sent` finished;
  // returns its latency.
  std::chrono::nanoseconds request(std::string_view kind, bool ok, time_point sent) const {
    const auto latency = clock_->now() - sent;
    observer_->request(kind, ok, latency);
    return latency;
  }
  // A stream of `kind` failed: counted as a failed request without a latency.
  void stream_failed(std::string_view kind) const {
    observer_->request(kind, false, std::chrono::nanoseconds(0));
  }
  // One keepalive's round trip (etcd: a keepalive answered; Consul: a TTL check reset).
  void keepalive(std::chrono::nanoseconds latency) const { observer_->keepalive_latency(latency); }
  void keepalive_since(time_point sent) const { keepalive(clock_->now() - sent); }
  // The registry lost our state (lease, registrations) and we have written it again.
  void regrant() const { observer_->lease_regrant(); }

 private:
  metrics::RegistryObserver* observer_;
  const runtime::Clock* clock_;
};

}  // namespace registrar::registry::common
