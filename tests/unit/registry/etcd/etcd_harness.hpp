// The etcd state machine wired to a scripted etcd (FakeTransport), one io_context and a
// ManualClock: what every unit test of the backend (behaviour, metrics, timing) starts from.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "metrics/registry_observer.hpp"
#include "registry/etcd/etcd_registry.hpp"
#include "runtime/clock.hpp"
#include "unit/registry/etcd/fake_transport.hpp"

namespace registrar::test {

// One passing instance of "svc" with this id.
inline registry::DesiredSet one_passing(const std::string& id) {
  return {{id, {"svc", id, "10.0.0.1", 5000, {}, {}, registry::Health::Passing, "SERVING"}}};
}

struct EtcdHarness {
  struct Options {
    // Timers fire only when the ManualClock is advanced (advance()), never on real time.
    bool drive_timers = false;
    // Hears every request, keepalive round trip and re-grant; must outlive the harness.
    metrics::RegistryObserver* observer = nullptr;
  };

  boost::asio::io_context io;
  runtime::ManualClock clock;
  FakeTransport* fake = nullptr;
  std::shared_ptr<registry::etcd::EtcdRegistry> registry;

  std::vector<registry::RegistryState> states;                   // every state reported
  std::function<void(const registry::RegistryState&)> on_state;  // the supervisor's part, if any

  explicit EtcdHarness(const config::RegistrySpec& spec) : EtcdHarness(spec, Options{}) {}
  EtcdHarness(const config::RegistrySpec& spec, Options options) {
    clock.drive_timers(options.drive_timers);
    auto transport = std::make_unique<FakeTransport>();
    transport->executor = io.get_executor();
    fake = transport.get();
    registry = std::make_shared<registry::etcd::EtcdRegistry>(
        io.get_executor(), spec, std::move(transport), clock, [] { return 0.5; },
        options.observer ? *options.observer : metrics::null_registry_observer());
    registry->start([this](const registry::RegistryState& st) {
      states.push_back(st);
      if (on_state) on_state(st);
    });
  }

  // Runs what is ready, including zero-delay timers.
  void settle() {
    for (int i = 0; i < 100 && io.poll() > 0; ++i) {
    }
    io.restart();
  }
  // Lets real-time timers (backoffs of a few ms in these tests) fire.
  void let_time_pass(std::chrono::milliseconds d = std::chrono::milliseconds(30)) {
    io.run_for(d);
    io.restart();
    settle();
  }
  // Moves the ManualClock (with drive_timers, its timers fire), then runs what became ready.
  void advance(std::chrono::milliseconds d) {
    clock.advance(d);
    settle();
  }
  // The keys the scripted etcd holds.
  std::set<std::string> keys() const {
    std::set<std::string> out;
    for (const auto& [k, v] : fake->kv) out.insert(k);
    return out;
  }
};

}  // namespace registrar::test
