// The daemon's metrics, by name: everything /metrics shows. One instance per daemon; the status
// monitor and the registry backend (through RegistryObserver) update it.
#pragma once

#include <string>

#include "metrics/metrics.hpp"
#include "metrics/registry_observer.hpp"

namespace registrar::metrics {

struct DaemonMetrics {
  explicit DaemonMetrics(const std::string& version);

  Registry registry;

  // Probes and services (label `service` is the service id).
  CounterFamily& probe_results;        // {service, result}: every probe result
  CounterFamily& service_transitions;  // {service, to}: healthy/unhealthy after rise/fall
  GaugeFamily& service_healthy;        // {service}: 1 healthy, 0 not
  GaugeFamily& service_registered;     // {service}: 1 in the registry, 0 not

  // The registry.
  GaugeFamily& registered_services;            // entries the backend holds
  GaugeFamily& registry_up;                    // 1 reachable, 0 not (connecting or down)
  GaugeFamily& registry_in_sync;               // 1 when it holds exactly the desired set
  CounterFamily& registry_requests;            // {kind}
  CounterFamily& registry_errors;              // {kind}
  HistogramFamily& registry_request_duration;  // {kind}, seconds
  CounterFamily& lease_regrants;
  HistogramFamily& keepalive_latency;  // seconds

  // The daemon.
  GaugeFamily& ready;       // 1 once the first registration pass is done (and not draining)
  GaugeFamily& draining;    // 1 after a drain request
  GaugeFamily& build_info;  // {version}: always 1
};

// Feeds a backend's reports into DaemonMetrics.
class MetricsRegistryObserver final : public RegistryObserver {
 public:
  explicit MetricsRegistryObserver(DaemonMetrics& m) : m_(m) {}
  void request(std::string_view kind, bool ok, std::chrono::nanoseconds latency) override;
  void lease_regrant() override;
  void keepalive_latency(std::chrono::nanoseconds latency) override;

 private:
  DaemonMetrics& m_;
};

}  // namespace registrar::metrics
