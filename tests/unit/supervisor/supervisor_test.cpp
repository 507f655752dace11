// The supervisor against a recording registry and scripted probers: no network, no real time.
#include "supervisor/supervisor.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

using namespace registrar;
using std::chrono::milliseconds;

namespace {

struct FakeRegistry final : registry::Registry {
  std::vector<registry::DesiredSet> applied;
  std::vector<std::string> events;
  DoneCallback pending_shutdown;
  void start(StateCallback) override { events.push_back("start"); }
  void apply(const registry::DesiredSet& d) override {
    applied.push_back(d);
    events.push_back("apply:" + std::to_string(d.size()));
  }
  void shutdown(milliseconds timeout, DoneCallback done) override {
    events.push_back("shutdown:" + std::to_string(timeout.count()));
    pending_shutdown = std::move(done);
  }
  registry::RegistryState state() const override { return {}; }
};

struct FakeProber final : probe::Prober {
  Callback callback;
  std::vector<std::string>* events;
  std::string id;
  void start(Callback cb) override { callback = std::move(cb); }
  void stop() override {
    events->push_back("stop:" + id);
    callback = nullptr;
  }
};

config::ServiceSpec service(const std::string& id, int rise, int fall) {
  config::ServiceSpec s;
  s.name = "svc";
  s.id = id;
  s.address = "127.0.0.1";
  s.port = 5000;
  s.probe.rise = rise;
  s.probe.fall = fall;
  return s;
}

struct Harness {
  boost::asio::io_context io;
  runtime::ManualClock clock;
  std::shared_ptr<FakeRegistry> reg = std::make_shared<FakeRegistry>();
  std::map<std::string, FakeProber*> probers;
  std::unique_ptr<supervisor::Supervisor> sup;

  explicit Harness(config::Manifest m) {
    sup = std::make_unique<supervisor::Supervisor>(
        io.get_executor(), std::move(m), reg,
        [this](const config::ServiceSpec& s) {
          auto p = std::make_unique<FakeProber>();
          p->events = &reg->events;
          p->id = s.id;
          probers[s.id] = p.get();
          return p;
        },
        clock);
    sup->start();
  }
  void result(const std::string& id, probe::Outcome o) {
    REQUIRE(probers.at(id)->callback);
    probers.at(id)->callback(probe::Result{o, "scripted"});
  }
};

config::Manifest manifest(std::vector<config::ServiceSpec> services) {
  config::Manifest m;
  m.services = std::move(services);
  m.shutdown_timeout = milliseconds(1234);
  return m;
}

}  // namespace

TEST_CASE("nothing is desired before a probe says so") {
  Harness h(manifest({service("a", 1, 1)}));
  REQUIRE(h.reg->applied.size() == 1);  // the initial desired set: nothing passing yet
  CHECK(registry::passing(h.reg->applied.back()).empty());
  CHECK(registry::passing(h.sup->desired()).empty());
}

TEST_CASE("the desired set names every service, with its verdict and what the probe saw") {
  Harness h(manifest({service("a", 1, 1), service("b", 1, 1)}));
  auto d = h.sup->desired();
  REQUIRE(d.size() == 2);
  CHECK(d.at("a").health == registry::Health::Critical);
  CHECK(d.at("a").output == "no probe result yet");
  h.result("a", probe::Outcome::Serving);
  d = h.reg->applied.back();
  REQUIRE(d.size() == 2);
  CHECK(d.at("a").health == registry::Health::Passing);
  CHECK_FALSE(d.at("a").output.empty());
  CHECK(d.at("b").health == registry::Health::Critical);
  h.result("a", probe::Outcome::NotServing);
  CHECK(h.reg->applied.back().at("a").health == registry::Health::Critical);
}

TEST_CASE("a healthy service enters the desired set and leaves it when unhealthy") {
  Harness h(manifest({service("a", 1, 1), service("b", 1, 1)}));
  h.result("a", probe::Outcome::Serving);
  REQUIRE(registry::passing(h.reg->applied.back()).size() == 1);
  CHECK(registry::passing(h.reg->applied.back()).at("a").port == 5000);
  h.result("b", probe::Outcome::Serving);
  CHECK(registry::passing(h.reg->applied.back()).size() == 2);
  h.result("a", probe::Outcome::NotServing);
  REQUIRE(registry::passing(h.reg->applied.back()).size() == 1);
  CHECK(registry::passing(h.reg->applied.back()).contains("b"));
}

TEST_CASE("results that do not cross a threshold cause no apply") {
  Harness h(manifest({service("a", 2, 3)}));
  const auto initial = h.reg->applied.size();
  h.result("a", probe::Outcome::Serving);  // 1 of 2
  CHECK(h.reg->applied.size() == initial);
  h.result("a", probe::Outcome::Serving);  // 2 of 2: healthy
  CHECK(h.reg->applied.size() == initial + 1);
  // Flapping: never three failures in a row.
  for (int i = 0; i < 10; ++i) {
    h.result("a", probe::Outcome::Timeout);
    h.result("a", probe::Outcome::Unreachable);
    h.result("a", probe::Outcome::Serving);
  }
  CHECK(h.reg->applied.size() == initial + 1);
  CHECK(registry::passing(h.sup->desired()).size() == 1);
  for (int i = 0; i < 3; ++i) h.result("a", probe::Outcome::ServiceUnknown);
  CHECK(h.reg->applied.size() == initial + 2);
  CHECK(registry::passing(h.reg->applied.back()).empty());
}

TEST_CASE("every non-SERVING outcome counts as a failure") {
  for (auto o :
       {probe::Outcome::NotServing, probe::Outcome::Unknown, probe::Outcome::ServiceUnknown,
        probe::Outcome::Unreachable, probe::Outcome::Timeout, probe::Outcome::RpcError}) {
    Harness h(manifest({service("a", 1, 1)}));
    h.result("a", probe::Outcome::Serving);
    REQUIRE(registry::passing(h.sup->desired()).size() == 1);
    h.result("a", o);
    CHECK(registry::passing(h.sup->desired()).empty());
  }
}

TEST_CASE("shutdown stops every prober before asking the registry, then reports done") {
  Harness h(manifest({service("a", 1, 1), service("b", 1, 1)}));
  h.result("a", probe::Outcome::Serving);
  bool done = false;
  bool clean = false;
  h.sup->shutdown([&](bool c) {
    done = true;
    clean = c;
  });
  auto& ev = h.reg->events;
  const auto shutdown_at = std::find(ev.begin(), ev.end(), "shutdown:1234");
  REQUIRE(shutdown_at != ev.end());
  CHECK(std::find(ev.begin(), shutdown_at, "stop:a") != shutdown_at);
  CHECK(std::find(ev.begin(), shutdown_at, "stop:b") != shutdown_at);
  CHECK(registry::passing(h.sup->desired()).empty());
  CHECK_FALSE(done);
  h.reg->pending_shutdown(true);
  CHECK(done);
  CHECK(clean);
  // A second shutdown request is ignored.
  h.sup->shutdown([](bool) { FAIL("second shutdown must be ignored"); });
}

TEST_CASE("drain waits after deregistration before reporting done") {
  auto m = manifest({service("a", 1, 1)});
  m.drain = milliseconds(50);
  Harness h(std::move(m));
  bool done = false;
  h.sup->shutdown([&](bool) { done = true; });
  h.reg->pending_shutdown(true);
  CHECK_FALSE(done);  // the drain timer has not run yet
  h.io.run_for(std::chrono::seconds(5));
  CHECK(done);
}

TEST_CASE("status reports each service's health and last result") {
  Harness h(manifest({service("a", 1, 1), service("b", 1, 1)}));
  h.clock.advance(std::chrono::seconds(7));
  h.result("b", probe::Outcome::Serving);
  auto st = h.sup->status();
  REQUIRE(st.size() == 2);
  CHECK(st[0].id == "a");
  CHECK_FALSE(st[0].healthy);
  CHECK_FALSE(st[0].last_change.has_value());
  CHECK(st[1].healthy);
  CHECK(st[1].last_result.outcome == probe::Outcome::Serving);
  REQUIRE(st[1].last_change.has_value());
  CHECK(*st[1].last_change == runtime::Clock::time_point{} + std::chrono::seconds(7));
}
