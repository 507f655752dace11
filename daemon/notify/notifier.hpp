// systemd's notify protocol (sd_notify(3), through libsystemd): READY=1, STATUS=, STOPPING=1 and
// WATCHDOG=1. Without NOTIFY_SOCKET in the environment (not started by systemd with
// Type=notify) every call does nothing.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "runtime/clock.hpp"
#include "runtime/timer.hpp"

namespace registrar::notify {

// Where notification datagrams go. The real one is sd_notify(); tests may record instead.
class Sink {
 public:
  virtual ~Sink() = default;
  // Sends one notification ("READY=1\nSTATUS=..."); false when nothing was sent.
  virtual bool send(const std::string& message) = 0;
  // The watchdog interval systemd asks for (WATCHDOG_USEC, for this process), or zero when the
  // watchdog is off.
  virtual std::chrono::microseconds watchdog_interval() = 0;
};

// sd_notify(0, ...) and sd_watchdog_enabled(0, ...). libsystemd reads NOTIFY_SOCKET,
// WATCHDOG_USEC and WATCHDOG_PID on every call and leaves them in the environment.
std::unique_ptr<Sink> make_sd_notify_sink();

class Notifier {
 public:
  // `clock` paces the watchdog pings.
  Notifier(boost::asio::any_io_executor executor, std::unique_ptr<Sink> sink,
           const runtime::Clock& clock = runtime::steady_clock());

  // READY=1 with a STATUS= line; only the first call sends anything.
  void ready(const std::string& status);
  // STATUS=<line>, sent only when it differs from the last one sent. Newlines become spaces.
  void status(const std::string& line);
  // STOPPING=1 with a STATUS= line, once. Watchdog pings go on while the daemon deregisters:
  // they stop only with the process.
  void stopping(const std::string& status);
  // Starts WATCHDOG=1 pings at half the interval systemd asked for, from a timer on the
  // executor: a stuck event loop stops the pings and systemd restarts the service. Does nothing
  // when the watchdog is off.
  void start_watchdog();
  std::chrono::microseconds watchdog_interval() const { return watchdog_interval_; }

  bool sent_ready() const { return ready_sent_; }

 private:
  void arm();

  std::unique_ptr<Sink> sink_;
  runtime::Timer timer_;
  std::chrono::microseconds watchdog_interval_{0};
  bool ready_sent_ = false;
  bool stopping_sent_ = false;
  std::string last_status_;
};

// One STATUS= value: at most 200 bytes, newlines replaced, so that `systemctl status` shows it
// on one line.
std::string status_line(const std::string& text);

}  // namespace registrar::notify
