// RegistryHarness: one registry backend driven in-process through the Registry interface, built by
// registry::make_registry (the daemon's factory) on an io_context that runs on a thread of the
// harness. Every call is posted to that thread and waited for, since a backend is single-threaded
// (all calls and callbacks on its io_context); the test thread stays free to read the registry.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <thread>

#include "config/manifest.hpp"
#include "registry/registry.hpp"
#include "runtime/clock.hpp"

namespace registrar::conformance {

struct ShutdownResult {
  bool clean = false;
  std::chrono::milliseconds elapsed{0};  // from the shutdown() call to `done`
};

class RegistryHarness {
 public:
  explicit RegistryHarness(const config::RegistrySpec& spec);
  // A registry not shut down yet is shut down (bounded) first; then the registry is released on
  // its thread and the thread stops.
  ~RegistryHarness();

  RegistryHarness(const RegistryHarness&) = delete;
  RegistryHarness& operator=(const RegistryHarness&) = delete;

  void start();
  void apply(const registry::DesiredSet& desired);
  registry::RegistryState state();
  // shutdown(timeout, done), then waits up to `wait` for done; nullopt if it never came.
  std::optional<ShutdownResult> shutdown(std::chrono::milliseconds timeout,
                                         std::chrono::milliseconds wait);

 private:
  // Runs `fn` on the io thread and returns its result.
  template <class Fn>
  auto on_io(Fn fn) -> decltype(fn());

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  runtime::SteadyClock clock_;
  std::shared_ptr<registry::Registry> registry_;
  bool shut_down_ = false;
  std::thread thread_;
};

}  // namespace registrar::conformance
