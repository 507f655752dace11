#include "cli/ops.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>

#include "config/enums.hpp"
#include "config/listen_address.hpp"
#include "config/status_policy.hpp"

namespace registrar::cli {

using namespace std::chrono_literals;

Ops::Ops(boost::asio::any_io_executor executor, const runtime::Clock& clock,
         const config::Manifest& manifest, const std::string& version)
    : executor_(executor),
      clock_(clock),
      manifest_(manifest),
      metrics_(version),
      monitor_(status::Monitor::create(executor, clock, metrics_,
                                       std::string(config::to_string(manifest.registry.kind)))),
      service_(*monitor_, metrics_, version),
      notifier_(executor, notify::make_sd_notify_sink(), clock),
      reaper_(executor),
      drain_poll_(executor, clock) {}

bool Ops::listen(std::string& error) {
  const std::string socket_path = config::control_socket_path(manifest_.status);
  if (manifest_.status.listen.empty() && socket_path.empty()) return true;
  status::HttpServerLimits limits;
  limits.any_ip_host = manifest_.status.allow_remote;
  server_ = std::make_unique<status::HttpServer>(executor_, service_.handler(), limits);
  if (!manifest_.status.listen.empty() && !listen_tcp(error)) {
    server_.reset();
    return false;
  }
  if (!socket_path.empty() && !listen_control(socket_path, error)) {
    server_.reset();
    return false;
  }
  return true;
}

bool Ops::listen_tcp(std::string& error) {
  std::string why;
  const auto address = config::parse_listen_address(manifest_.status.listen, why);
  if (!address) {
    error = "status.listen: " + why;
    return false;
  }
  try {
    server_->listen({boost::asio::ip::make_address(address->host), address->port});
  } catch (const std::system_error& e) {
    error = std::string("status.listen: ") + e.what();
    return false;
  }
  const auto ep = server_->local_endpoint();
  listening_on_ = config::to_string(config::ListenAddress{ep.address().to_string(), ep.port()});
  spdlog::info("status: listening on {}", listening_on_);
  if (const std::string w = config::remote_status_warning(manifest_.status); !w.empty())
    spdlog::warn("status: {}", w);
  return true;
}

// An explicit status.control_socket that cannot be bound stops the daemon (exit 78, like any
// setting it cannot honour); the default path only costs the control socket, with a warning:
// the daemon may run where /run/grpc-registrar is not writable, and SIGUSR1 still drains.
bool Ops::listen_control(const std::string& path, std::string& error) {
  try {
    server_->listen_unix(path);
  } catch (const std::system_error& e) {
    if (!manifest_.status.control_socket.empty()) {
      error = std::string("status.control_socket: ") + e.what();
      return false;
    }
    spdlog::warn(
        "status: {}; no control socket: `grpc-registrar drain` needs --pid (SIGUSR1), and "
        "`grpc-registrar status` reads the TCP status address (set status.control_socket to a "
        "writable path)",
        e.what());
    return true;
  }
  spdlog::info("status: control socket {} (mode 0660: drain by its owner and group)", path);
  return true;
}

void Ops::attach(supervisor::Supervisor& supervisor) {
  supervisor_ = &supervisor;
  monitor_->set_sources([&supervisor] { return supervisor.status(); },
                        [&supervisor] { return supervisor.registry_state(); },
                        [&supervisor] { return supervisor.draining(); });
  service_.set_drain_handler(
      [this](std::function<void(status::DrainResult)> done) { drain(std::move(done)); });
  monitor_->on_change([this] { on_change(); });
}

void Ops::start() {
  monitor_->start();
  notifier_.start_watchdog();
  if (notifier_.watchdog_interval().count() > 0) {
    spdlog::info(
        "systemd watchdog: pinging every {} ms",
        std::chrono::duration_cast<std::chrono::milliseconds>(notifier_.watchdog_interval() / 2)
            .count());
  }
}

void Ops::on_change() {
  const status::Snapshot snapshot = monitor_->snapshot();
  const std::string summary = status::Monitor::summary_of(snapshot);
  if (monitor_->first_pass_done()) {
    // systemd's READY=1 means started (the first pass is done, even with the registry down, so
    // that the unit does not hang); the log says "ready" only when /readyz would.
    if (snapshot.ready && !logged_ready_) {
      logged_ready_ = true;
      spdlog::info("ready: {}", summary);
    } else if (!notifier_.sent_ready()) {
      spdlog::info("started, not ready ({}): {}", snapshot.not_ready_reason, summary);
    }
    if (!notifier_.sent_ready())
      notifier_.ready(summary);
    else
      notifier_.status(summary);
  } else {
    notifier_.status("starting: " + summary);
  }
}

void Ops::stopping() {
  monitor_->set_stopping();
  notifier_.stopping("stopping: deregistering " +
                     std::to_string(supervisor_ ? supervisor_->registry_state().registered : 0) +
                     " service(s)");
}

void Ops::close() {
  if (server_) server_->stop();
}

void Ops::drain(std::function<void(status::DrainResult)> done) {
  if (!supervisor_) return done({false, "the daemon is not running yet"});
  supervisor_->drain();
  monitor_->set_draining();
  drain_waiters_.push_back({std::move(done), clock_.now() + manifest_.shutdown_timeout});
  answer_drain_waiters();
}

void Ops::answer_drain_waiters() {
  const registry::RegistryState st = supervisor_->registry_state();
  const bool empty = st.registered == 0 && st.in_sync;
  const auto now = clock_.now();
  std::vector<DrainWaiter> settled;
  std::erase_if(drain_waiters_, [&](DrainWaiter& w) {
    if (!empty && now < w.deadline) return false;
    settled.push_back(std::move(w));
    return true;
  });
  if (drain_waiters_.empty()) {
    drain_poll_.cancel();
  } else if (!drain_poll_.armed()) {
    drain_poll_.arm_after(20ms, [this] { answer_drain_waiters(); });
  }
  // Last: an answer may start another request.
  for (DrainWaiter& w : settled) {
    if (empty) {
      w.done({true, "nothing registered; waiting for SIGTERM"});
    } else {
      w.done({false, std::to_string(st.registered) +
                         " entries not confirmed removed within shutdown_timeout" +
                         (st.last_error.empty() ? "" : " (" + st.last_error + ")")});
    }
  }
}

}  // namespace registrar::cli
