// The status endpoints, as an HttpHandler:
//   GET  /healthz      200 "ok": the daemon's event loop answers
//   GET  /readyz       200 "ready", or 503 with the reason (first pass not done, registry not
//                      reachable, draining, stopping)
//   GET  /v1/services  JSON: the registry's state and every service's probe and registration state
//   GET  /metrics      Prometheus text format
//   POST /v1/drain     deregister everything and keep running (calls the drain handler); answers
//                      once the registry confirmed, or when the handler gives up. Accepted on the
//                      control socket only (403 on TCP); the requester is logged
#pragma once

#include <functional>
#include <string>

#include "metrics/daemon_metrics.hpp"
#include "status/http_server.hpp"
#include "status/monitor.hpp"

namespace registrar::status {

struct DrainResult {
  bool clean = false;   // every entry confirmed removed
  std::string message;  // for humans
};

// Starts a drain and calls `done` (on the executor) when it has finished. Calling it again while
// drained must answer at once.
using DrainHandler = std::function<void(std::function<void(DrainResult)> done)>;

class StatusService {
 public:
  // `version` is reported by /v1/services. Times in its JSON are ages in seconds, read from the
  // monitor's (injected) clock.
  StatusService(Monitor& monitor, metrics::DaemonMetrics& metrics, std::string version);

  void set_drain_handler(DrainHandler handler) { drain_ = std::move(handler); }

  void handle(const HttpRequest& req, std::function<void(HttpResponse)> respond);
  HttpHandler handler() {
    return [this](const HttpRequest& req, std::function<void(HttpResponse)> respond) {
      handle(req, std::move(respond));
    };
  }

  // The JSON of GET /v1/services.
  std::string services_json() const;

 private:
  Monitor& monitor_;
  metrics::DaemonMetrics& metrics_;
  std::string version_;
  DrainHandler drain_;
};

}  // namespace registrar::status
