// What the Consul backend reports to its RegistryObserver (metrics): each request by kind with
// its outcome and latency (on the ManualClock), TTL check updates as keepalives, and services
// registered again after the agent lost them.
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "fake_agent.hpp"
#include "registry/consul/consul_registry.hpp"
#include "unit/registry/recording_observer.hpp"

using namespace registrar;
using namespace registrar::registry;
using namespace registrar::registry::consul;
using registrar::registry::consul::test::FakeAgent;
using registrar::test::RecordingObserver;
using std::chrono::milliseconds;
using Strings = std::vector<std::string>;

namespace {

DesiredSet one(const std::string& id, Health h = Health::Passing) {
  return {{id, {"svc", id, "10.0.0.1", 5000, {}, {}, h, "SERVING"}}};
}

struct Harness {
  boost::asio::io_context io;
  runtime::ManualClock clock;
  RecordingObserver observer;
  FakeAgent* agent = nullptr;
  std::shared_ptr<ConsulRegistry> registry;

  Harness() {
    config::RegistrySpec s;
    s.kind = config::RegistryKind::Consul;
    s.consul.owner = "test-owner";
    s.consul.check_ttl = milliseconds(30);  // refreshed every 10 ms
    s.consul.deregister_critical_after = std::chrono::minutes(1);
    s.consul.reconcile_interval = milliseconds(0);
    s.backoff.initial = milliseconds(1);
    s.backoff.max = milliseconds(5);
    auto t = std::make_unique<FakeAgent>();
    t->executor = io.get_executor();
    agent = t.get();
    registry = std::make_shared<ConsulRegistry>(
        io.get_executor(), s, std::move(t), clock, [] { return 0.5; }, Token::read_file, observer);
  }
  void settle() {
    for (int i = 0; i < 100 && io.poll() > 0; ++i) {
    }
    io.restart();
  }
  // Answers every request as the agent's model says, each `latency` after it was sent.
  void run_agent(milliseconds latency = milliseconds(0)) {
    for (int i = 0; i < 50; ++i) {
      settle();
      if (agent->pending.empty()) return;
      clock.advance(latency);
      agent->answer();
    }
    FAIL("the registry never stopped sending requests");
  }
  // Moves the ManualClock and lets the real timers notice.
  void advance(milliseconds d) {
    clock.advance(d);
    io.run_for(milliseconds(20));
    io.restart();
    settle();
  }
};

}  // namespace

TEST_CASE("consul metrics: start, register and check update, each with its latency") {
  Harness h;
  h.registry->start([](const RegistryState&) {});
  h.registry->apply(one("a"));
  h.run_agent(milliseconds(2));
  REQUIRE(h.observer.kinds() == Strings{"services_list", "register", "check_update"});
  for (const auto& r : h.observer.requests) CHECK(r.latency == milliseconds(2));
  // The check update resets the TTL: a keepalive sample.
  CHECK(h.observer.keepalives == std::vector<std::chrono::nanoseconds>{milliseconds(2)});
  CHECK(h.observer.regrants == 0);

  // Each TTL refresh is a check update and a keepalive.
  h.advance(milliseconds(10));
  h.run_agent(milliseconds(3));
  REQUIRE(h.observer.kinds().size() == 4);
  CHECK(h.observer.kinds().back() == "check_update");
  CHECK(h.observer.keepalives.size() == 2);
  CHECK(h.observer.keepalives.back() == milliseconds(3));
}

TEST_CASE("consul metrics: a check the agent lost (404) is an error, then one re-registration") {
  Harness h;
  h.registry->start([](const RegistryState&) {});
  h.registry->apply(one("a"));
  h.run_agent();
  h.observer.clear();

  h.agent->services.clear();  // the agent restarted without its state
  h.agent->checks.clear();
  h.advance(milliseconds(10));  // the next refresh finds out
  h.run_agent();
  CHECK(h.observer.kinds() == Strings{"check_update!", "register", "check_update"});
  CHECK(h.observer.regrants == 1);
  CHECK(h.observer.keepalives.size() == 1);  // the failed update is no keepalive sample
  CHECK(h.agent->status_of("grpc-registrar:a") == "passing");

  // Later refreshes are no re-registrations.
  h.advance(milliseconds(10));
  h.run_agent();
  CHECK(h.observer.regrants == 1);
}

TEST_CASE("consul metrics: an unreachable agent is an error of the request's kind") {
  Harness h;
  h.registry->start([](const RegistryState&) {});
  h.registry->apply(one("a"));
  h.settle();
  h.agent->answer_with(FakeAgent::transport_error(HttpResult::Error::Connect));
  CHECK(h.observer.kinds() == Strings{"services_list!"});
}

TEST_CASE("consul metrics: deregistering a service the agent no longer has is no error") {
  Harness h;
  h.registry->start([](const RegistryState&) {});
  h.registry->apply(one("a"));
  h.run_agent();
  h.observer.clear();
  h.agent->services.clear();
  h.agent->checks.clear();
  h.registry->apply({});
  h.run_agent();
  CHECK(h.observer.kinds() == Strings{"deregister"});
}
