#include "metrics/daemon_metrics.hpp"

namespace registrar::metrics {

namespace {

// Latency buckets in seconds, 1 ms to 10 s: local registries answer in milliseconds, and the
// upper buckets catch a registry that is struggling well before requests time out.
const std::vector<double> kLatencyBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                          0.25,  0.5,    1,     2.5,  5,     10};

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

DaemonMetrics::DaemonMetrics(const std::string& version)
    : probe_results(registry.counter("grpc_registrar_probe_results_total",
                                     "Health probe results, by service id and result",
                                     {"service", "result"})),
      service_transitions(
          registry.counter("grpc_registrar_service_transitions_total",
                           "Services turning healthy or unhealthy after rise/fall, by service id",
                           {"service", "to"})),
      service_healthy(registry.gauge("grpc_registrar_service_healthy",
                                     "1 when the service is healthy after rise/fall, else 0",
                                     {"service"})),
      service_registered(registry.gauge("grpc_registrar_service_registered",
                                        "1 when the registry holds the service's entry, else 0",
                                        {"service"})),
      registered_services(registry.gauge("grpc_registrar_registered_services",
                                         "Entries the registry backend holds for this daemon")),
      registry_up(registry.gauge("grpc_registrar_registry_up",
                                 "1 when the registry answers, 0 while connecting or down")),
      registry_in_sync(registry.gauge("grpc_registrar_registry_in_sync",
                                      "1 when the registry holds exactly the desired set")),
      registry_requests(registry.counter("grpc_registrar_registry_requests_total",
                                         "Requests to the registry, by kind", {"kind"})),
      registry_errors(registry.counter("grpc_registrar_registry_errors_total",
                                       "Failed or refused requests to the registry, by kind",
                                       {"kind"})),
      registry_request_duration(registry.histogram(
          "grpc_registrar_registry_request_duration_seconds",
          "Time from a registry request to its answer, by kind", kLatencyBuckets, {"kind"})),
      lease_regrants(
          registry.counter("grpc_registrar_lease_regrants_total",
                           "Leases (etcd) or agent registrations (consul) lost and granted again")),
      keepalive_latency(registry.histogram("grpc_registrar_keepalive_latency_seconds",
                                           "Round trip of one lease keepalive or TTL check update",
                                           kLatencyBuckets)),
      ready(registry.gauge("grpc_registrar_ready",
                           "1 once the first registration pass is done and the registry answers")),
      draining(registry.gauge("grpc_registrar_draining", "1 after a drain request")),
      build_info(registry.gauge("grpc_registrar_build_info", "Always 1; the version as a label",
                                {"version"})) {
  // Series without labels exist from the start, so that a scrape shows them at 0.
  registered_services.with();
  registry_up.with();
  registry_in_sync.with();
  lease_regrants.with();
  keepalive_latency.with();
  ready.with();
  draining.with();
  build_info.with({version}).set(1);
}

void MetricsRegistryObserver::request(std::string_view kind, bool ok,
                                      std::chrono::nanoseconds latency) {
  const Labels labels{std::string(kind)};
  m_.registry_requests.with(labels).inc();
  if (!ok) m_.registry_errors.with(labels).inc();
  m_.registry_request_duration.with(labels).observe(seconds(latency));
}

void MetricsRegistryObserver::lease_regrant() {
  m_.lease_regrants.with().inc();
}

void MetricsRegistryObserver::keepalive_latency(std::chrono::nanoseconds latency) {
  m_.keepalive_latency.with().observe(seconds(latency));
}

}  // namespace registrar::metrics
