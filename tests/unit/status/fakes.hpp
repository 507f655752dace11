// A real Supervisor over a registry whose state the test sets, and probers the test scripts, with
// the Monitor wrapping the probers as the daemon does.
#pragma once

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <map>
#include <memory>

#include "metrics/daemon_metrics.hpp"
#include "status/monitor.hpp"
#include "supervisor/supervisor.hpp"

namespace registrar::status::test {

struct FakeRegistry final : registry::Registry {
  registry::RegistryState current;
  std::vector<registry::DesiredSet> applied;
  void start(StateCallback) override {}
  void apply(const registry::DesiredSet& d) override { applied.push_back(d); }
  void shutdown(std::chrono::milliseconds, DoneCallback done) override { done(true); }
  registry::RegistryState state() const override { return current; }
};

struct ScriptedProber final : probe::Prober {
  Callback callback;
  void start(Callback cb) override { callback = std::move(cb); }
  void stop() override { callback = nullptr; }
};

inline config::ServiceSpec spec(const std::string& id, int rise = 1, int fall = 1) {
  config::ServiceSpec s;
  s.name = "svc";
  s.id = id;
  s.address = "127.0.0.1";
  s.port = 5000;
  s.probe.rise = rise;
  s.probe.fall = fall;
  s.probe.target = "127.0.0.1:5000";
  return s;
}

struct Harness {
  boost::asio::io_context io;
  runtime::ManualClock clock;
  metrics::DaemonMetrics metrics{"test"};
  std::shared_ptr<FakeRegistry> reg = std::make_shared<FakeRegistry>();
  std::map<std::string, ScriptedProber*> probers;
  std::shared_ptr<Monitor> owned_monitor =
      Monitor::create(io.get_executor(), clock, metrics, "etcd");
  Monitor& monitor = *owned_monitor;
  std::shared_ptr<supervisor::Supervisor> sup;
  int changes = 0;

  explicit Harness(std::vector<config::ServiceSpec> services) {
    config::Manifest m;
    m.services = std::move(services);
    sup = supervisor::Supervisor::create(io.get_executor(), std::move(m), reg,
                                         monitor.wrap([this](const config::ServiceSpec& s) {
                                           auto p = std::make_unique<ScriptedProber>();
                                           probers[s.id] = p.get();
                                           return p;
                                         }),
                                         clock);
    monitor.set_sources([this] { return sup->status(); }, [this] { return reg->state(); });
    monitor.on_change([this] { ++changes; });
    sup->start();
  }

  void result(const std::string& id, probe::Outcome o, const std::string& detail = "scripted") {
    REQUIRE(probers.at(id)->callback);
    probers.at(id)->callback(probe::Result{o, detail});
    // The supervisor's apply and the monitor's refresh run once per burst, from posted handlers.
    io.restart();
    io.poll();
  }
  void registry_state(registry::Connectivity c, std::set<std::string> ids,
                      const std::string& error = "") {
    reg->current.connectivity = c;
    reg->current.registered = ids.size();
    reg->current.registered_ids = std::move(ids);
    reg->current.in_sync = c == registry::Connectivity::Up;
    reg->current.last_error = error;
    monitor.refresh();
  }
  std::string exposition() const { return metrics.registry.expose(); }
  bool has(const std::string& line) const {
    return exposition().find(line + "\n") != std::string::npos;
  }
};

}  // namespace registrar::status::test
