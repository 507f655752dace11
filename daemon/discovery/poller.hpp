// watch() for registries that have no change notification a client can wait on (Eureka, Nacos):
// read the set every interval, report it when it changed (ChangeFilter), and after a failed
// read report the error once and read again on the backoff until the registry answers.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>

#include "config/manifest.hpp"
#include "discovery/instancer.hpp"
#include "runtime/backoff.hpp"
#include "runtime/clock.hpp"
#include "runtime/timer.hpp"

namespace registrar::discovery {

// How often `watch` reads a polled registry. Eureka's own clients fetch every 30 s and Nacos's
// every few seconds (cacheMillis); an operator watching a deploy or reloading a proxy expects a
// change within about a second, and one small GET a second is nothing to either server.
inline constexpr std::chrono::seconds kPollInterval{1};

class Poller {
 public:
  // One read of the set: calls `done` exactly once, on the executor, unless the owner stopped.
  using Read = std::function<void(Instancer::OnEvent done)>;

  Poller(boost::asio::any_io_executor executor, const runtime::Clock& clock,
         const config::BackoffSpec& backoff, runtime::Clock::duration interval = kPollInterval);

  // Reads now, then `interval` after each answered read (the backoff after a failed one), until
  // stop(). `read` must not call back after its owner stopped.
  void start(Read read, Instancer::OnEvent on_event);
  void stop();

 private:
  void round();
  void on_read(const Event& event);

  runtime::Timer timer_;
  runtime::Backoff backoff_;
  runtime::Clock::duration interval_;
  ChangeFilter filter_;
  Read read_;
  Instancer::OnEvent on_event_;
  bool stopped_ = false;
};

}  // namespace registrar::discovery
