#include "cli/ops.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>

#include "config/enums.hpp"
#include "config/listen_address.hpp"

namespace registrar::cli {

using namespace std::chrono_literals;

Ops::Ops(boost::asio::any_io_executor executor, const runtime::Clock& clock,
         const config::Manifest& manifest, const std::string& version)
    : executor_(executor),
      clock_(clock),
      manifest_(manifest),
      metrics_(version),
      monitor_(executor, clock, metrics_, std::string(config::to_string(manifest.registry.kind))),
      service_(monitor_, metrics_, version),
      notifier_(executor, notify::make_sd_notify_sink()),
      reaper_(executor) {}

Ops::~Ops() {
  *alive_ = false;
}

bool Ops::listen(std::string& error) {
  if (manifest_.status.listen.empty()) return true;
  std::string why;
  const auto address = config::parse_listen_address(manifest_.status.listen, why);
  if (!address) {
    error = "status.listen: " + why;
    return false;
  }
  server_ = std::make_unique<status::HttpServer>(executor_, service_.handler());
  try {
    server_->listen({boost::asio::ip::make_address(address->host), address->port});
  } catch (const std::system_error& e) {
    error = std::string("status.listen: ") + e.what();
    server_.reset();
    return false;
  }
  const auto ep = server_->local_endpoint();
  spdlog::info("status: listening on {}",
               config::to_string(config::ListenAddress{ep.address().to_string(), ep.port()}));
  return true;
}

void Ops::attach(supervisor::Supervisor& supervisor) {
  supervisor_ = &supervisor;
  monitor_.set_sources([&supervisor] { return supervisor.status(); },
                       [&supervisor] { return supervisor.registry_state(); },
                       [&supervisor] { return supervisor.draining(); });
  service_.set_drain_handler(
      [this](std::function<void(status::DrainResult)> done) { drain(std::move(done)); });
  monitor_.on_change([this] { on_change(); });
}

void Ops::start() {
  monitor_.start();
  notifier_.start_watchdog();
  if (notifier_.watchdog_interval().count() > 0) {
    spdlog::info(
        "systemd watchdog: pinging every {} ms",
        std::chrono::duration_cast<std::chrono::milliseconds>(notifier_.watchdog_interval() / 2)
            .count());
  }
}

void Ops::on_change() {
  const std::string summary = monitor_.summary();
  if (monitor_.first_pass_done()) {
    if (!notifier_.sent_ready()) {
      spdlog::info("ready: {}", summary);
      notifier_.ready(summary);
    } else {
      notifier_.status(summary);
    }
  } else {
    notifier_.status("starting: " + summary);
  }
}

void Ops::stopping() {
  monitor_.set_stopping();
  notifier_.stopping("stopping: deregistering " +
                     std::to_string(supervisor_ ? supervisor_->registry_state().registered : 0) +
                     " service(s)");
}

void Ops::drain(std::function<void(status::DrainResult)> done) {
  if (!supervisor_) return done({false, "the daemon is not running yet"});
  if (!supervisor_->draining()) spdlog::info("POST /v1/drain: draining");
  supervisor_->drain();
  monitor_.set_draining();
  wait_for_drain(std::move(done), clock_.now() + manifest_.shutdown_timeout);
}

// Polls the registry's state until nothing is registered (bounded by shutdown_timeout).
void Ops::wait_for_drain(std::function<void(status::DrainResult)> done,
                         runtime::Clock::time_point deadline) {
  const registry::RegistryState st = supervisor_->registry_state();
  if (st.registered == 0 && st.in_sync) {
    return done({true, "nothing registered; waiting for SIGTERM"});
  }
  if (clock_.now() >= deadline) {
    return done({false, std::to_string(st.registered) +
                            " entries not confirmed removed within shutdown_timeout" +
                            (st.last_error.empty() ? "" : " (" + st.last_error + ")")});
  }
  // A timer per waiting request: two drain requests at once must not cancel each other.
  auto timer = std::make_shared<boost::asio::steady_timer>(executor_, 20ms);
  timer->async_wait([this, alive = alive_, timer, done = std::move(done),
                     deadline](const boost::system::error_code& ec) mutable {
    if (ec || !*alive) return;
    wait_for_drain(std::move(done), deadline);
  });
}

}  // namespace registrar::cli
