// The operations surface of a running daemon, wired together: metrics, the status monitor, the
// status HTTP server (when configured), systemd notifications and, as PID 1, the child reaper.
// run.cpp creates one Ops per daemon and calls it at a few points of the life cycle.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>
#include <vector>

#include "cli/child_reaper.hpp"
#include "config/manifest.hpp"
#include "metrics/daemon_metrics.hpp"
#include "notify/notifier.hpp"
#include "runtime/timer.hpp"
#include "status/http_server.hpp"
#include "status/monitor.hpp"
#include "status/status_service.hpp"
#include "supervisor/supervisor.hpp"

namespace registrar::cli {

class Ops {
 public:
  Ops(boost::asio::any_io_executor executor, const runtime::Clock& clock,
      const config::Manifest& manifest, const std::string& version);

  // For the registry backend, to count its requests, re-grants and keepalive latency.
  metrics::RegistryObserver& registry_observer() { return observer_; }
  // The prober factory to give the supervisor: every result also reaches the monitor.
  supervisor::Supervisor::ProberFactory wrap(supervisor::Supervisor::ProberFactory inner) {
    return monitor_->wrap(std::move(inner));
  }

  // Binds the status server when status.listen is set, and the control socket
  // (config::control_socket_path). Call before anything is registered, so that a taken port
  // stops the daemon early. Returns false and sets `error` on failure.
  bool listen(std::string& error);
  // Where the status server listens, with the port the kernel chose for ":0" ("127.0.0.1:41234");
  // "" when it does not listen on TCP.
  std::string listening_on() const { return listening_on_; }

  // Once the supervisor exists: reads its state, drains it on POST /v1/drain.
  void attach(supervisor::Supervisor& supervisor);
  // After supervisor.start(): the periodic refresh, READY=1/STATUS= and the watchdog.
  void start();
  // SIGTERM/SIGINT: STOPPING=1; /readyz answers 503 from here on.
  void stopping();
  // After the loop: closes the status server and removes the control socket's file (a file left
  // by a killed daemon is replaced at the next start).
  void close();

 private:
  bool listen_tcp(std::string& error);
  bool listen_control(const std::string& path, std::string& error);
  void on_change();
  void drain(std::function<void(status::DrainResult)> done);
  // A drain request waiting for the registry to hold nothing, until its deadline.
  struct DrainWaiter {
    std::function<void(status::DrainResult)> done;
    runtime::Clock::time_point deadline;
  };
  // Answers every waiting drain request that is settled (nothing registered, or its deadline
  // passed) and polls again in 20 ms while any is left.
  void answer_drain_waiters();

  boost::asio::any_io_executor executor_;
  const runtime::Clock& clock_;
  config::Manifest manifest_;
  metrics::DaemonMetrics metrics_;
  metrics::MetricsRegistryObserver observer_{metrics_};
  std::shared_ptr<status::Monitor> monitor_;
  status::StatusService service_;
  std::unique_ptr<status::HttpServer> server_;
  std::string listening_on_;
  notify::Notifier notifier_;
  ChildReaper reaper_;
  supervisor::Supervisor* supervisor_ = nullptr;
  std::vector<DrainWaiter> drain_waiters_;
  runtime::Timer drain_poll_;
  bool logged_ready_ = false;  // "ready: ..." logged once, when /readyz first says so
};

}  // namespace registrar::cli
