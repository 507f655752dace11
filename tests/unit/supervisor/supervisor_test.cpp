// The supervisor against a recording registry and scripted probers: no network, no real time.
#include "supervisor/supervisor.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

using namespace registrar;
using std::chrono::milliseconds;

namespace {

struct FakeRegistry final : registry::Registry {
  std::vector<registry::DesiredSet> applied;
  std::vector<std::string> events;
  DoneCallback pending_shutdown;
  StateCallback on_state;
  registry::RegistryState current;
  void start(StateCallback cb) override {
    events.push_back("start");
    on_state = std::move(cb);
  }
  void apply(const registry::DesiredSet& d) override {
    applied.push_back(d);
    events.push_back("apply:" + std::to_string(d.size()));
  }
  void shutdown(milliseconds timeout, DoneCallback done) override {
    events.push_back("shutdown:" + std::to_string(timeout.count()));
    pending_shutdown = std::move(done);
  }
  registry::RegistryState state() const override { return current; }
  // Reports a new state, as a backend does.
  void report(registry::RegistryState st) {
    current = std::move(st);
    if (on_state) on_state(current);
  }
};

struct FakeProber final : probe::Prober {
  Callback callback;
  std::vector<std::string>* events;
  std::string id;
  void start(Callback cb) override {
    events->push_back("probe:" + id);
    callback = std::move(cb);
  }
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
  std::shared_ptr<supervisor::Supervisor> sup;

  explicit Harness(config::Manifest m) {
    sup = supervisor::Supervisor::create(
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
  // Delivers a result, then runs the handlers it made ready (the supervisor applies a burst of
  // verdict changes once, from a handler it posts).
  void result(const std::string& id, probe::Outcome o) {
    deliver(id, o);
    settle();
  }
  void deliver(const std::string& id, probe::Outcome o) {
    REQUIRE(probers.at(id)->callback);
    probers.at(id)->callback(probe::Result{o, "scripted"});
  }
  void settle() {
    io.restart();
    io.poll();
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

TEST_CASE("shutdown asks the registry first, stops every prober, then reports done") {
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
  // Deregistration does not wait for the probers: they are stopped after it has been asked for.
  CHECK(std::find(shutdown_at, ev.end(), "stop:a") != ev.end());
  CHECK(std::find(shutdown_at, ev.end(), "stop:b") != ev.end());
  CHECK(registry::passing(h.sup->desired()).empty());
  CHECK_FALSE(done);
  h.reg->pending_shutdown(true);
  CHECK(done);
  CHECK(clean);
  // A second shutdown request is ignored.
  h.sup->shutdown([](bool) { FAIL("second shutdown must be ignored"); });
}

TEST_CASE("no probe result after shutdown reaches the registry") {
  Harness h(manifest({service("a", 1, 1), service("b", 1, 1)}));
  h.result("a", probe::Outcome::Serving);
  // A verdict change whose apply is still pending when shutdown begins...
  h.deliver("b", probe::Outcome::Serving);
  auto b_callback = h.probers.at("b")->callback;
  auto a_callback = h.probers.at("a")->callback;
  const auto applies = h.reg->applied.size();
  h.sup->shutdown([](bool) {});
  // ...and results still in flight from probers being stopped (delivered after stop()).
  b_callback(probe::Result{probe::Outcome::NotServing, "late"});
  a_callback(probe::Result{probe::Outcome::NotServing, "late"});
  b_callback(probe::Result{probe::Outcome::Serving, "late"});
  h.settle();
  CHECK(h.reg->applied.size() == applies);
  const auto& ev = h.reg->events;
  const auto shutdown_at = std::find(ev.begin(), ev.end(), "shutdown:1234");
  REQUIRE(shutdown_at != ev.end());
  CHECK(std::none_of(shutdown_at, ev.end(),
                     [](const std::string& e) { return e.rfind("apply:", 0) == 0; }));
  CHECK(registry::passing(h.sup->desired()).empty());
}

TEST_CASE("a burst of verdict changes is applied once, in the next handler") {
  std::vector<config::ServiceSpec> specs;
  for (int i = 0; i < 50; ++i) specs.push_back(service("s" + std::to_string(i), 1, 1));
  Harness h(manifest(std::move(specs)));
  const auto applies = h.reg->applied.size();
  for (int i = 0; i < 50; ++i) h.deliver("s" + std::to_string(i), probe::Outcome::Serving);
  CHECK(h.reg->applied.size() == applies);  // not yet: one handler is pending
  h.settle();
  REQUIRE(h.reg->applied.size() == applies + 1);
  CHECK(registry::passing(h.reg->applied.back()).size() == 50);
  // A single flip afterwards reaches the registry in the next handler too.
  h.deliver("s7", probe::Outcome::NotServing);
  h.settle();
  REQUIRE(h.reg->applied.size() == applies + 2);
  CHECK(registry::passing(h.reg->applied.back()).size() == 49);
  CHECK_FALSE(registry::passing(h.reg->applied.back()).contains("s7"));
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

// ---- reload ---------------------------------------------------------------------------------

namespace {

std::size_t count_events(const std::vector<std::string>& ev, const std::string& e) {
  return static_cast<std::size_t>(std::count(ev.begin(), ev.end(), e));
}

}  // namespace

TEST_CASE("reload: added services are probed, removed ones stopped, unchanged ones untouched") {
  Harness h(manifest({service("keep", 1, 1), service("drop", 1, 1)}));
  h.result("keep", probe::Outcome::Serving);
  h.result("drop", probe::Outcome::Serving);
  const auto keep_before = h.reg->applied.back().at("keep");
  FakeProber* keep_prober = h.probers.at("keep");
  const auto applies = h.reg->applied.size();

  auto r = h.sup->reload(manifest({service("keep", 1, 1), service("new", 1, 1)}));
  REQUIRE(r.applied);
  CHECK(r.plan.added == std::vector<std::string>{"new"});
  CHECK(r.plan.removed == std::vector<std::string>{"drop"});
  CHECK(r.plan.unchanged == std::vector<std::string>{"keep"});
  auto& ev = h.reg->events;
  CHECK(count_events(ev, "stop:drop") == 1);
  CHECK(count_events(ev, "probe:new") == 1);
  CHECK(count_events(ev, "probe:keep") == 1);  // never restarted
  CHECK(count_events(ev, "stop:keep") == 0);
  CHECK(h.probers.at("keep") == keep_prober);
  // One apply: "drop" gone, "new" there (not passing yet), "keep" exactly as it was.
  REQUIRE(h.reg->applied.size() == applies + 1);
  const auto& d = h.reg->applied.back();
  CHECK_FALSE(d.contains("drop"));
  REQUIRE(d.contains("new"));
  CHECK(d.at("new").health == registry::Health::Critical);
  CHECK(d.at("keep") == keep_before);
  // The new service registers once healthy; the unchanged one still answers to its prober.
  h.result("new", probe::Outcome::Serving);
  CHECK(registry::passing(h.reg->applied.back()).size() == 2);
  h.result("keep", probe::Outcome::NotServing);
  CHECK_FALSE(registry::passing(h.reg->applied.back()).contains("keep"));
}

TEST_CASE("reload: a changed entry keeps its verdict, a changed probe restarts only its prober") {
  auto tagged = service("a", 1, 1);
  auto reprobed = service("b", 1, 2);
  Harness h(manifest({service("a", 1, 1), service("b", 1, 2)}));
  h.result("a", probe::Outcome::Serving);
  h.result("b", probe::Outcome::Serving);
  tagged.tags = {"blue"};
  reprobed.probe.target = "127.0.0.1:6000";
  reprobed.probe.fall = 3;
  auto r = h.sup->reload(manifest({tagged, reprobed}));
  REQUIRE(r.applied);
  CHECK(r.plan.rewritten == std::vector<std::string>{"a"});
  CHECK(r.plan.reprobed == std::vector<std::string>{"b"});
  auto& ev = h.reg->events;
  CHECK(count_events(ev, "stop:a") == 0);
  CHECK(count_events(ev, "stop:b") == 1);
  CHECK(count_events(ev, "probe:b") == 2);
  const auto d = registry::passing(h.reg->applied.back());
  REQUIRE(d.size() == 2);  // still healthy: no gap
  CHECK(d.at("a").tags == std::vector<std::string>{"blue"});
  // The new thresholds hold: b needs three failures now.
  h.result("b", probe::Outcome::Timeout);
  h.result("b", probe::Outcome::Timeout);
  CHECK(registry::passing(h.sup->desired()).contains("b"));
  h.result("b", probe::Outcome::Timeout);
  CHECK_FALSE(registry::passing(h.sup->desired()).contains("b"));
}

TEST_CASE("reload: the same manifest again changes nothing and applies nothing") {
  Harness h(manifest({service("a", 1, 1)}));
  h.result("a", probe::Outcome::Serving);
  const auto applies = h.reg->applied.size();
  auto r = h.sup->reload(manifest({service("a", 1, 1)}));
  CHECK(r.applied);
  CHECK(r.plan.unchanged.size() == 1);
  CHECK(h.reg->applied.size() == applies);
}

TEST_CASE("reload: a different registry section is refused and nothing changes") {
  Harness h(manifest({service("a", 1, 1)}));
  h.result("a", probe::Outcome::Serving);
  const auto applies = h.reg->applied.size();
  auto next = manifest({service("b", 1, 1)});
  next.registry.etcd.endpoints = {"10.0.0.9:2379"};
  auto r = h.sup->reload(next);
  CHECK_FALSE(r.applied);
  CHECK(r.error.find("endpoints: [10.0.0.9:2379]") != std::string::npos);
  CHECK(r.error.find("restart") != std::string::npos);
  CHECK(h.reg->applied.size() == applies);
  CHECK(h.sup->desired().contains("a"));
  CHECK_FALSE(h.sup->desired().contains("b"));
  CHECK(count_events(h.reg->events, "stop:a") == 0);
}

TEST_CASE("reload: a changed inline or environment secret is a registry change, never shown") {
  auto current = manifest({service("a", 1, 1)});
  current.registry.consul.token = "old-token-value";
  current.registry.consul.token_source = "CONSUL_HTTP_TOKEN";
  auto next = current;
  next.registry.consul.token = "new-token-value";
  Harness h(current);
  auto r = h.sup->reload(next);
  CHECK_FALSE(r.applied);
  CHECK(r.error.find("the Consul ACL token changed (now from CONSUL_HTTP_TOKEN)") !=
        std::string::npos);
  CHECK(r.error.find("token-value") == std::string::npos);

  auto pw = current;
  pw.registry.etcd.password = "old-password-value";
  auto pw2 = pw;
  pw2.registry.etcd.password = "new-password-value";
  Harness h2(pw);
  auto r2 = h2.sup->reload(pw2);
  CHECK_FALSE(r2.applied);
  CHECK(r2.error.find("ETCDCTL_PASSWORD changed") != std::string::npos);
  CHECK(r2.error.find("password-value") == std::string::npos);

  // The same secrets again: nothing to refuse.
  Harness h3(pw);
  CHECK(h3.sup->reload(pw).applied);
}

TEST_CASE("reload plan: each service in exactly one class") {
  auto a = service("a", 1, 1);
  auto b = service("b", 1, 1);
  auto c = service("c", 1, 1);
  auto d = service("d", 1, 1);
  auto b2 = b;
  b2.meta = {{"k", "v"}};
  auto c2 = c;
  c2.probe.interval = milliseconds(5);
  auto c3 = c;
  c3.probe.rise = 4;  // thresholds alone: no new prober
  auto plan = supervisor::plan_reload(manifest({a, b, c}), manifest({b2, c2, d}));
  CHECK(plan.removed == std::vector<std::string>{"a"});
  CHECK(plan.rewritten == std::vector<std::string>{"b"});
  CHECK(plan.reprobed == std::vector<std::string>{"c"});
  CHECK(plan.added == std::vector<std::string>{"d"});
  CHECK(plan.registry_change.empty());
  CHECK(supervisor::plan_reload(manifest({c}), manifest({c3})).rewritten ==
        std::vector<std::string>{"c"});
  // The probe channel's settings are fixed when the prober starts: a change of either key
  // needs a new prober, not only a rewrite.
  auto c4 = c;
  c4.probe.liveness_interval = milliseconds(30000);
  CHECK(supervisor::plan_reload(manifest({c}), manifest({c4})).reprobed ==
        std::vector<std::string>{"c"});
  auto c5 = c;
  c5.probe.transparent_retry = !c.probe.transparent_retry;
  CHECK(supervisor::plan_reload(manifest({c}), manifest({c5})).reprobed ==
        std::vector<std::string>{"c"});
  auto other = manifest({a});
  other.registry.backoff.max = milliseconds(1);
  CHECK_FALSE(supervisor::plan_reload(manifest({a}), other).registry_change.empty());
}

// ---- drain ----------------------------------------------------------------------------------

TEST_CASE(
    "drain: everything deregistered at once, probing stops, the process is not told to exit") {
  Harness h(manifest({service("a", 1, 1), service("b", 1, 1)}));
  h.result("a", probe::Outcome::Serving);
  h.result("b", probe::Outcome::Serving);
  h.sup->drain();
  CHECK(h.sup->draining());
  CHECK(h.reg->applied.back().empty());
  CHECK(count_events(h.reg->events, "stop:a") == 1);
  CHECK(count_events(h.reg->events, "stop:b") == 1);
  for (const auto& e : h.reg->events) CHECK(e.rfind("shutdown:", 0) != 0);
  const auto applies = h.reg->applied.size();
  h.sup->drain();  // idempotent
  CHECK(h.reg->applied.size() == applies);
  CHECK_FALSE(h.sup->reload(manifest({service("a", 1, 1)})).applied);
  // A registry reporting inherited services cannot bring anything back either.
  registry::RegistryState st;
  st.inherited_ids = {"a"};
  h.reg->report(st);
  CHECK(h.reg->applied.size() == applies);
  CHECK(h.sup->desired().empty());
}

TEST_CASE("shutdown after drain waits only what is left of the drain time") {
  auto m = manifest({service("a", 1, 1)});
  m.drain = std::chrono::hours(1);
  Harness h(std::move(m));
  h.sup->drain();
  h.clock.advance(std::chrono::hours(2));  // the drain time has passed since deregistration
  bool done = false;
  h.sup->shutdown([&](bool) { done = true; });
  REQUIRE(h.reg->pending_shutdown);
  h.reg->pending_shutdown(true);
  CHECK(done);  // no further wait
}

// ---- services inherited from a previous run ------------------------------------------------

TEST_CASE("services a previous run left registered start healthy until their probes decide") {
  Harness h(
      manifest({service("a", 3, 2), service("b", 1, 1), service("c", 1, 1), service("d", 3, 1)}));
  h.result("b", probe::Outcome::NotServing);  // failed already: its own verdict stands
  h.result("d", probe::Outcome::Serving);     // one success of three: no verdict yet
  const auto applies = h.reg->applied.size();
  registry::RegistryState st;
  st.inherited_ids = {"a", "b", "d", "not-in-manifest"};
  h.reg->report(st);
  REQUIRE(h.reg->applied.size() == applies + 1);
  auto d = registry::passing(h.reg->applied.back());
  CHECK(d.size() == 2);
  CHECK(d.contains("a"));  // healthy without waiting for rise = 3
  CHECK(d.contains("d"));
  h.reg->report(st);  // reported again: nothing more to do
  CHECK(h.reg->applied.size() == applies + 1);
  // fall = 2 failures remove it, as for any healthy service.
  h.result("a", probe::Outcome::Timeout);
  CHECK(registry::passing(h.sup->desired()).contains("a"));
  h.result("a", probe::Outcome::Timeout);
  CHECK_FALSE(registry::passing(h.sup->desired()).contains("a"));
}
