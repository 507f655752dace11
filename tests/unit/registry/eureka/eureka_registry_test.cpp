// The Eureka state machine against scripted servers: the test decides when and how each request
// is answered, and time moves only when the test moves the ManualClock.
#include "registry/eureka/eureka_registry.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "fake_eureka.hpp"

using namespace registrar;
using namespace registrar::registry;
using namespace registrar::registry::eureka;
using registrar::registry::eureka::test::FakeEureka;
using registrar::registry::eureka::test::json;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

namespace {

config::RegistrySpec eureka_spec(std::size_t servers = 1) {
  config::RegistrySpec s;
  s.kind = config::RegistryKind::Eureka;
  s.eureka.servers.clear();
  for (std::size_t i = 0; i < servers; ++i) {
    const std::string host = "10.0.0." + std::to_string(i + 1);
    s.eureka.servers.push_back(
        {"http://" + host + ":8761/eureka", host + ":8761", host, "/eureka", false});
  }
  s.eureka.renewal_interval = 1s;
  s.eureka.lease_duration = 3s;
  s.eureka.request_timeout = 100ms;
  s.backoff.initial = 10ms;
  s.backoff.max = 10s;  // longer than the lease: the lease budget must cap it
  return s;
}

Registration instance(const std::string& id, Health h = Health::Passing) {
  return {"hello", id, "127.0.0.1", 5000, {}, {{"zone", "a"}}, h, ""};
}

DesiredSet set_of(std::initializer_list<Registration> regs) {
  DesiredSet d;
  for (const auto& r : regs) d.emplace(r.id, r);
  return d;
}

struct Harness {
  boost::asio::io_context io;
  runtime::ManualClock clock;
  std::vector<FakeEureka*> servers;
  std::shared_ptr<EurekaRegistry> registry;
  std::vector<RegistryState> states;

  explicit Harness(config::RegistrySpec s = eureka_spec()) {
    clock.drive_timers(true);
    std::vector<std::unique_ptr<http::HttpTransport>> transports;
    for (std::size_t i = 0; i < s.eureka.servers.size(); ++i) {
      auto t = std::make_unique<FakeEureka>();
      t->executor = io.get_executor();
      servers.push_back(t.get());
      transports.push_back(std::move(t));
    }
    registry = std::make_shared<EurekaRegistry>(io.get_executor(), s, std::move(transports), clock,
                                                [] { return 0.5; });
  }
  FakeEureka& server(std::size_t i = 0) { return *servers.at(i); }
  void start(const DesiredSet& desired) {
    registry->start([this](const RegistryState& st) { states.push_back(st); });
    registry->apply(desired);
    settle();
  }
  void settle() {
    for (int i = 0; i < 100 && io.poll() > 0; ++i) {
    }
    io.restart();
  }
  // Answers every request as the model says until none is pending.
  void serve(std::size_t i = 0) {
    for (int n = 0; n < 100 && !server(i).pending.empty(); ++n) {
      server(i).answer();
      settle();
    }
  }
  void advance(milliseconds d) {
    clock.advance(d);
    settle();
  }
};

}  // namespace

TEST_CASE("eureka: registers each instance once, then only heartbeats every renewal_interval") {
  Harness h;
  h.start(set_of({instance("a"), instance("b")}));
  h.serve();
  FakeEureka& s = h.server();
  REQUIRE(s.log.size() == 2);
  CHECK(s.log[0].method == Method::Post);
  CHECK(s.log[0].target == "/eureka/apps/HELLO");
  CHECK(s.log[0].header("Accept") == "application/json");
  CHECK(s.log[0].content_type == "application/json");
  CHECK(s.status.at("HELLO/a") == "UP");
  CHECK(h.registry->state().in_sync);
  CHECK(h.registry->state().registered == 2);

  h.advance(999ms);
  CHECK(s.pending.empty());
  h.advance(1ms);
  h.serve();
  REQUIRE(s.log.size() == 4);
  CHECK(s.log[2].method == Method::Put);
  CHECK(s.log[2].target == "/eureka/apps/HELLO/a");
  CHECK(s.log[3].target == "/eureka/apps/HELLO/b");
  // Applying the same set again writes nothing.
  h.registry->apply(set_of({instance("a"), instance("b")}));
  h.settle();
  CHECK(s.pending.empty());
}

TEST_CASE("eureka: a health change is one status request, removal goes OUT_OF_SERVICE then away") {
  Harness h;
  h.start(set_of({instance("a")}));
  h.serve();
  FakeEureka& s = h.server();
  const std::size_t before = s.log.size();
  h.registry->apply(set_of({instance("a", Health::Critical)}));
  h.serve();
  REQUIRE(s.log.size() == before + 1);
  CHECK(s.last().method == Method::Put);
  CHECK(s.last().target == "/eureka/apps/HELLO/a/status?value=DOWN");
  CHECK(s.status.at("HELLO/a") == "DOWN");

  h.registry->apply(set_of({instance("a")}));
  h.serve();
  CHECK(s.last().target == "/eureka/apps/HELLO/a/status?value=UP");

  h.registry->apply({});
  h.serve();
  REQUIRE(s.log.size() == before + 4);
  CHECK(s.log[before + 2].target == "/eureka/apps/HELLO/a/status?value=OUT_OF_SERVICE");
  CHECK(s.log[before + 3].method == Method::Delete);
  CHECK(s.status.empty());
  CHECK(h.registry->state().registered == 0);
  CHECK(h.registry->state().in_sync);
}

TEST_CASE("eureka: a heartbeat answered 404 registers again at once") {
  Harness h;
  h.start(set_of({instance("a", Health::Critical)}));
  h.serve();
  FakeEureka& s = h.server();
  CHECK(s.status.at("HELLO/a") == "DOWN");
  s.status.clear();  // the server restarted without state
  h.advance(1s);
  h.serve();
  REQUIRE(s.log.size() == 3);
  CHECK(s.log[1].method == Method::Put);
  CHECK(s.log[2].method == Method::Post);   // at once, no backoff
  CHECK(s.status.at("HELLO/a") == "DOWN");  // DOWN in the registration
}

TEST_CASE("eureka: an UP re-registration is followed by a status request (overrides hold)") {
  Harness h;
  h.start(set_of({instance("a")}));
  h.serve();
  FakeEureka& s = h.server();
  s.status.clear();
  h.advance(1s);
  h.serve();
  REQUIRE(s.log.size() == 4);
  CHECK(s.log[2].method == Method::Post);
  CHECK(s.log[3].target == "/eureka/apps/HELLO/a/status?value=UP");
}

TEST_CASE("eureka: no answer fails over to the next server at once") {
  Harness h(eureka_spec(2));
  h.start(set_of({instance("a")}));
  h.server(0).answer(FakeEureka::no_answer());
  h.settle();
  CHECK(h.registry->current_server() == 1);
  REQUIRE(h.server(1).pending.size() == 1);
  CHECK(h.server(1).pending.front().req.method == Method::Post);
  h.serve(1);
  CHECK(h.server(1).status.at("HELLO/a") == "UP");
  CHECK(h.registry->state().connectivity == Connectivity::Up);
  // It stays on the server that answers.
  h.advance(1s);
  CHECK(h.server(0).pending.empty());
  CHECK(h.server(1).pending.size() == 1);
}

TEST_CASE("eureka: after a 5xx the retry comes within the lease, whatever the backoff") {
  config::RegistrySpec spec = eureka_spec();
  spec.backoff.initial = 5s;  // longer than the lease: only the lease budget brings it sooner
  spec.backoff.max = 10s;
  Harness h(spec);
  h.start(set_of({instance("a")}));
  h.serve();
  FakeEureka& s = h.server();
  h.advance(1s);  // the heartbeat is due; the server fails it
  REQUIRE(s.pending.size() == 1);
  s.answer(FakeEureka::answer_of(503));
  h.settle();
  CHECK(h.registry->state().connectivity == Connectivity::Down);
  // Renewed at t=0, lease 3 s, request timeout 100 ms: the retry is due by t=2.9 s.
  h.advance(1800ms);
  CHECK(s.pending.empty());
  h.advance(100ms);
  REQUIRE(s.pending.size() == 1);
  CHECK(s.pending.front().req.method == Method::Put);
  h.serve();
  CHECK(h.registry->state().connectivity == Connectivity::Up);
  CHECK(s.status.at("HELLO/a") == "UP");
}

TEST_CASE("eureka: a refused registration is retried on its own backoff, others go on") {
  Harness h;
  h.start(set_of({instance("a"), instance("b")}));
  FakeEureka& s = h.server();
  s.answer(FakeEureka::answer_of(400, "Missing dataCenterInfo"));
  h.settle();
  h.serve();
  CHECK(s.status.contains("HELLO/b"));
  CHECK_FALSE(s.status.contains("HELLO/a"));
  CHECK(h.registry->state().last_error.find("Missing dataCenterInfo") != std::string::npos);
  h.advance(10ms);
  h.serve();
  CHECK(s.status.contains("HELLO/a"));
  CHECK(h.registry->state().last_error.empty());
}

TEST_CASE("eureka: shutdown cancels every instance and reports clean") {
  Harness h;
  h.start(set_of({instance("a"), instance("b")}));
  h.serve();
  std::optional<bool> clean;
  h.registry->shutdown(1s, [&](bool c) { clean = c; });
  h.settle();
  h.serve();
  REQUIRE(clean.has_value());
  CHECK(*clean);
  CHECK(h.server().status.empty());
  // apply after shutdown is ignored
  h.registry->apply(set_of({instance("c")}));
  h.settle();
  CHECK(h.server().pending.empty());
}

TEST_CASE("eureka: shutdown with the server down returns by its timeout, not clean") {
  Harness h;
  h.start(set_of({instance("a")}));
  h.serve();
  std::optional<bool> clean;
  h.registry->shutdown(300ms, [&](bool c) { clean = c; });
  h.settle();
  for (int i = 0; i < 10 && !clean; ++i) {
    while (!h.server().pending.empty()) h.server().answer(FakeEureka::no_answer());
    h.settle();
    h.advance(100ms);
  }
  REQUIRE(clean.has_value());
  CHECK_FALSE(*clean);
}

TEST_CASE("eureka: basic auth goes in every request's Authorization header") {
  config::RegistrySpec spec = eureka_spec();
  spec.eureka.username = "reg";
  spec.eureka.password = "pw";
  spec.eureka.password_source = "EUREKA_PASSWORD";
  Harness h(spec);
  h.start(set_of({instance("a")}));
  h.serve();
  h.advance(1s);
  h.serve();
  REQUIRE(h.server().log.size() == 2);
  for (const auto& req : h.server().log) CHECK(req.header("Authorization") == "Basic cmVnOnB3");
}

TEST_CASE("eureka: instances removed before their registration was sent are forgotten, no harm") {
  // One request at a time: "a" is in flight, "b" and "c" wait. The new set drops them both;
  // forgetting an entry while the removal walks the entries used to step from an erased node.
  Harness h;
  h.start(set_of({instance("a"), instance("b"), instance("c")}));
  FakeEureka& s = h.server();
  REQUIRE(s.pending.size() == 1);
  h.registry->apply(set_of({instance("a")}));
  h.settle();
  h.serve();
  REQUIRE(s.log.size() == 1);  // b and c were never registered, so nothing to cancel
  CHECK(s.status.size() == 1);
  CHECK(s.status.at("HELLO/a") == "UP");
  CHECK(h.registry->state().registered == 1);
  CHECK(h.registry->state().registered_ids == std::set<std::string>{"a"});
  CHECK(h.registry->state().in_sync);
}
