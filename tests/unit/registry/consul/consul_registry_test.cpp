// The Consul state machine against a scripted agent: the test decides when and how each request
// is answered, and time moves only when the test moves the ManualClock.
#include "registry/consul/consul_registry.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <sstream>

#include "fake_agent.hpp"

using namespace registrar;
using namespace registrar::registry;
using namespace registrar::registry::consul;
using registrar::registry::consul::test::FakeAgent;
using registrar::registry::consul::test::json;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

namespace {

// Short TTLs: the registry's timers are real, but they only act when the ManualClock says so.
config::RegistrySpec spec() {
  config::RegistrySpec s;
  s.kind = config::RegistryKind::Consul;
  s.consul.owner = "test-owner";
  s.consul.check_ttl = milliseconds(30);  // refreshed every 10 ms
  s.consul.deregister_critical_after = 1min;
  s.consul.reconcile_interval = milliseconds(60);
  s.consul.request_timeout = milliseconds(10);
  s.backoff.initial = milliseconds(1);
  s.backoff.max = milliseconds(5);
  return s;
}

Registration reg(const std::string& id, Health h = Health::Critical,
                 std::string output = "no probe result yet") {
  return {"svc", id, "10.0.0.1", 5000, {"v1"}, {{"zone", "a"}}, h, std::move(output)};
}

DesiredSet set_of(std::initializer_list<Registration> regs) {
  DesiredSet d;
  for (const auto& r : regs) d.emplace(r.id, r);
  return d;
}

json ours() {
  return {{"managed-by", "grpc-registrar"}, {"grpc-registrar-owner", "test-owner"}};
}

struct Harness {
  boost::asio::io_context io;
  runtime::ManualClock clock;
  FakeAgent* agent = nullptr;
  std::shared_ptr<ConsulRegistry> registry;
  std::map<std::string, std::string> files;  // token files, by path
  std::vector<RegistryState> states;

  explicit Harness(config::RegistrySpec s = spec(), std::function<void(FakeAgent&)> prepare = {}) {
    auto t = std::make_unique<FakeAgent>();
    t->executor = io.get_executor();
    agent = t.get();
    if (prepare) prepare(*agent);
    registry = std::make_shared<ConsulRegistry>(
        io.get_executor(), s, std::move(t), clock, [] { return 0.5; },
        [this](const std::string& path, std::string& error) -> std::optional<std::string> {
          auto it = files.find(path);
          if (it == files.end()) {
            error = "No such file or directory";
            return std::nullopt;
          }
          return it->second;
        });
  }
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
  void let_time_pass(milliseconds d = milliseconds(30)) {
    io.run_for(d);
    io.restart();
    settle();
  }
  // Answers every request as the agent's model says, until none is pending.
  void run_agent() {
    for (int i = 0; i < 200; ++i) {
      settle();
      if (agent->pending.empty()) return;
      agent->answer();
    }
    FAIL("the registry never stopped sending requests");
  }
  // Moves the ManualClock and lets the real timers notice.
  void advance(milliseconds d) {
    clock.advance(d);
    let_time_pass(milliseconds(20));
  }
};

}  // namespace

TEST_CASE("start: looks at the agent, then registers every service with its TTL check") {
  Harness h;
  h.start(set_of({reg("a"), reg("b", Health::Passing, "SERVING via Watch")}));
  REQUIRE(h.agent->next().target == "/v1/agent/services");
  h.run_agent();
  REQUIRE(h.agent->services.size() == 2);

  // The exact body of the first registration.
  const auto& first = h.agent->log.at(1);
  CHECK(first.method == Method::Put);
  CHECK(first.target == "/v1/agent/service/register?replace-existing-checks=true");
  CHECK(json::parse(first.body) ==
        json::parse(R"J({"ID":"a","Name":"svc","Tags":["v1"],"Address":"10.0.0.1","Port":5000,
          "Meta":{"zone":"a","managed-by":"grpc-registrar","grpc-registrar-owner":"test-owner"},
          "Check":{"CheckID":"grpc-registrar:a","Name":"gRPC health (grpc-registrar)",
            "Notes":"grpc.health.v1 result pushed by grpc-registrar every 10ms (TTL 30ms); Consul deregisters the service after 1m critical",
            "TTL":"30ms","DeregisterCriticalServiceAfter":"1m","Status":"critical"}})J"));
  // Then the probe's output goes out with an update.
  CHECK(h.agent->checks.at("grpc-registrar:a").at("Output") == "no probe result yet");
  CHECK(h.agent->status_of("grpc-registrar:b") == "passing");
  CHECK(h.agent->checks.at("grpc-registrar:b").at("Output") == "SERVING via Watch");
  CHECK(h.agent->count(Method::Put, "/v1/agent/service/register") == 2);
  CHECK(h.agent->count(Method::Put, "/v1/agent/check/update/") == 2);
  const auto st = h.registry->state();
  CHECK(st.in_sync);
  CHECK(st.connectivity == Connectivity::Up);
  CHECK(st.registered_ids == std::set<std::string>{"a", "b"});
}

TEST_CASE("a health change is pushed at once, an unchanged desired set writes nothing") {
  Harness h;
  h.start(set_of({reg("a")}));
  h.run_agent();
  const auto writes = h.agent->writes();
  h.registry->apply(set_of({reg("a")}));  // same again
  h.settle();
  CHECK(h.agent->pending.empty());
  h.registry->apply(set_of({reg("a", Health::Passing, "SERVING via Watch")}));
  h.settle();
  REQUIRE(h.agent->pending.size() == 1);
  CHECK(h.agent->next().target == "/v1/agent/check/update/grpc-registrar:a");
  CHECK(json::parse(h.agent->next().body) ==
        json{{"Status", "passing"}, {"Output", "SERVING via Watch"}});
  h.run_agent();
  CHECK(h.agent->writes() == writes + 1);
  CHECK(h.agent->status_of("grpc-registrar:a") == "passing");
  CHECK(h.agent->count(Method::Put, "/v1/agent/service/register") == 1);  // never re-registered
}

TEST_CASE("a flap that returns before it could be written costs no write") {
  Harness h;
  h.start(set_of({reg("a"), reg("b")}));
  h.run_agent();
  const auto writes = h.agent->writes();
  // A refresh of "b" is in flight while "a" turns passing and back.
  h.advance(milliseconds(10));
  REQUIRE(h.agent->pending.size() == 1);
  h.registry->apply(set_of({reg("a", Health::Passing, "SERVING"), reg("b")}));
  h.registry->apply(set_of({reg("a", Health::Critical, "NOT_SERVING"), reg("b")}));
  h.agent->answer();  // the refresh
  h.settle();
  // Refreshes go on (TTL) but nothing else: "a" is still what the agent holds.
  while (!h.agent->pending.empty()) {
    CHECK(json::parse(h.agent->next().body).at("Status") == "critical");
    h.agent->answer();
    h.settle();
  }
  CHECK(h.agent->count(Method::Put, "/v1/agent/service/register") == 2);
  CHECK(h.agent->writes() <= writes + 2);  // the refreshes of a and b, no health push
}

TEST_CASE("the TTL is refreshed at a third of itself, with the current status and output") {
  Harness h;
  h.start(set_of({reg("a", Health::Passing, "SERVING via Watch")}));
  h.run_agent();
  const auto updates = h.agent->count(Method::Put, "/v1/agent/check/update/");
  h.advance(milliseconds(5));
  CHECK(h.agent->pending.empty());  // not due yet
  h.advance(milliseconds(5));
  REQUIRE(h.agent->pending.size() == 1);
  CHECK(h.agent->next().target == "/v1/agent/check/update/grpc-registrar:a");
  CHECK(json::parse(h.agent->next().body) ==
        json{{"Status", "passing"}, {"Output", "SERVING via Watch"}});
  h.run_agent();
  CHECK(h.agent->count(Method::Put, "/v1/agent/check/update/") == updates + 1);
  CHECK(h.agent->count(Method::Put, "/v1/agent/service/register") == 1);
}

TEST_CASE("an unknown check (agent restarted without state) is registered again at once") {
  Harness h;
  h.start(set_of({reg("a", Health::Passing, "SERVING")}));
  h.run_agent();
  SECTION("404 Unknown check ID, as current agents answer") {
    h.agent->services.clear();
    h.agent->checks.clear();
    h.advance(milliseconds(10));  // the next refresh finds out
    h.run_agent();
  }
  SECTION("500 does not have associated TTL, as older agents answer") {
    h.advance(milliseconds(10));
    h.agent->services.clear();
    h.agent->checks.clear();
    h.agent->answer_with(
        FakeAgent::answer_of(500, "CheckID \"grpc-registrar:a\" does not have associated TTL"));
    h.run_agent();
  }
  CHECK(h.agent->count(Method::Put, "/v1/agent/service/register") == 2);
  CHECK(h.agent->status_of("grpc-registrar:a") == "passing");
  CHECK(h.agent->checks.at("grpc-registrar:a").at("Output") == "SERVING");
  // Registered again, then the status pushed: the last two writes.
  const auto& log = h.agent->log;
  CHECK(log[log.size() - 2].target.rfind("/v1/agent/service/register", 0) == 0);
  CHECK(log.back().target == "/v1/agent/check/update/grpc-registrar:a");
  CHECK(h.registry->state().in_sync);
}

TEST_CASE("reconcile reads each registration back, a missing or changed one is written again") {
  Harness h;
  h.start(set_of({reg("a", Health::Passing, "SERVING")}));
  h.run_agent();
  SECTION("deregistered behind our back") {
    h.agent->services.clear();
    h.agent->checks.clear();
  }
  SECTION("changed behind our back") {
    h.agent->services["a"]["Tags"] = json::array({"other"});
  }
  // Refreshes every 10 ms, a read every 60 ms: the read finds it.
  for (int i = 0; i < 8 && h.agent->count(Method::Get, "/v1/agent/service/") == 0; ++i) {
    h.advance(milliseconds(10));
    if (h.agent->pending.size() == 1 && h.agent->next().target.rfind("/v1/agent/service/a", 0) == 0)
      break;
    // Refresh answered without touching the model of "a": keep the check as it is.
    if (!h.agent->pending.empty()) h.agent->answer_with(FakeAgent::answer_of(200));
    h.settle();
  }
  REQUIRE(h.agent->count(Method::Get, "/v1/agent/service/") == 1);
  h.run_agent();
  CHECK(h.agent->count(Method::Put, "/v1/agent/service/register") == 2);
  CHECK(h.agent->services.at("a").at("Tags") == json::array({"v1"}));
}

TEST_CASE("403: a clear refusal naming the token's source, never its value, retried") {
  auto s = spec();
  s.consul.token_file = "/secrets/consul";
  s.consul.token_source = "registry.consul.token_file (/secrets/consul)";
  Harness h(s, [](FakeAgent& a) { a.required_token = "good-token"; });
  h.files["/secrets/consul"] = "bad-token\n";
  h.start(set_of({reg("a")}));
  REQUIRE(h.agent->pending.size() == 1);
  CHECK(h.agent->next().header(kTokenHeader) == "bad-token");  // trimmed, in the header only
  // The operator rotates the file. Before the 403 is answered: the retry's 1 ms backoff runs on
  // real time, and on a loaded machine it fired within settle(), before a rotation made after.
  h.files["/secrets/consul"] = "good-token";
  h.agent->answer();
  h.settle();
  const auto st = h.registry->state();
  CHECK(st.last_error ==
        "listing the agent's services: 403 ACL not found (ACL token: registry.consul.token_file "
        "(/secrets/consul))");
  CHECK(st.last_error.find("bad-token") == std::string::npos);
  CHECK(st.connectivity == Connectivity::Up);  // the agent answers; it refuses
  // Retried with backoff; the rotated token file is read again after the 403.
  for (int i = 0; i < 20 && h.agent->pending.empty(); ++i) h.let_time_pass(milliseconds(5));
  REQUIRE(h.agent->pending.size() == 1);
  CHECK(h.agent->next().header(kTokenHeader) == "good-token");
  h.run_agent();
  CHECK(h.agent->services.contains("a"));
  CHECK(h.registry->state().last_error.empty());
  for (const auto& r : h.agent->log) CHECK(r.target.find("token") == std::string::npos);
}

TEST_CASE("the agent's text is scrubbed of the token before it is logged or shown") {
  auto s = spec();
  s.consul.token = "tok-123";
  s.consul.token_source = "registry.consul.token";
  Harness h(s);
  h.start(set_of({reg("a")}));
  h.agent->answer_with(FakeAgent::answer_of(403, "Permission denied for tok-123"));
  h.settle();
  CHECK(h.registry->state().last_error ==
        "listing the agent's services: 403 Permission denied for <redacted> (ACL token: "
        "registry.consul.token)");
}

TEST_CASE("500s, timeouts and closed connections: unreachable, retried with backoff, recovered") {
  // The first backoff waits real time: 300 ms, far more than settle() can take on a loaded
  // machine under ASan (with the suite's 1 ms the retry could come before the check below).
  config::RegistrySpec s = spec();
  s.backoff.initial = milliseconds(300);
  s.backoff.max = milliseconds(300);
  Harness h(s);
  h.start(set_of({reg("a")}));
  h.agent->answer_with(FakeAgent::answer_of(500, "internal error"));
  h.settle();
  CHECK(h.registry->state().connectivity == Connectivity::Down);
  CHECK(h.agent->pending.empty());  // waits for the backoff
  for (int i = 0; i < 200 && h.agent->pending.empty(); ++i) h.let_time_pass(milliseconds(5));
  h.agent->answer_with(FakeAgent::transport_error(HttpResult::Error::Timeout));
  for (int i = 0; i < 200 && h.agent->pending.empty(); ++i) h.let_time_pass(milliseconds(5));
  h.agent->answer_with(FakeAgent::transport_error(HttpResult::Error::Closed));
  CHECK(h.registry->state().last_error == "listing the agent's services: no answer within 100 ms");
  for (int i = 0; i < 200 && h.agent->pending.empty(); ++i) h.let_time_pass(milliseconds(5));
  h.run_agent();
  CHECK(h.registry->state().connectivity == Connectivity::Up);
  CHECK(h.agent->services.contains("a"));
  CHECK(h.registry->state().in_sync);
}

TEST_CASE("a register that timed out is retried, one that landed is not duplicated") {
  Harness h;
  h.start(set_of({reg("a")}));
  h.agent->answer();  // services
  h.settle();
  REQUIRE(h.agent->next().target.rfind("/v1/agent/service/register", 0) == 0);
  // It lands in the agent, but the answer is lost.
  h.agent->model(h.agent->next());
  h.agent->answer_with(FakeAgent::transport_error(HttpResult::Error::Timeout));
  for (int i = 0; i < 20 && h.agent->pending.empty(); ++i) h.let_time_pass(milliseconds(5));
  h.run_agent();
  CHECK(h.agent->services.size() == 1);
  CHECK(h.agent->count(Method::Put, "/v1/agent/service/register") == 2);  // an idempotent overwrite
}

TEST_CASE("start: stale services of ours are removed, others' services are never touched") {
  Harness h(spec(), [](FakeAgent& a) {
    a.preload("old", "svc", ours());                   // ours, not wanted
    a.preload("foreign", "svc", json{{"team", "x"}});  // someone else's
    a.preload("b", "svc",
              json{{"managed-by", "grpc-registrar"},              // wanted id, but
                   {"grpc-registrar-owner", "another-daemon"}});  // another owner
  });
  h.start(set_of({reg("a"), reg("b")}));
  h.run_agent();
  CHECK_FALSE(h.agent->services.contains("old"));
  CHECK(h.agent->services.contains("foreign"));
  CHECK(h.agent->services.at("b").at("Meta").at("grpc-registrar-owner") == "another-daemon");
  CHECK(h.agent->services.contains("a"));
  for (const auto& r : h.agent->log) {
    if (r.method != Method::Put) continue;
    CHECK(r.target.find("foreign") == std::string::npos);
    CHECK(r.target.find("grpc-registrar:b") == std::string::npos);
    if (!r.body.empty()) CHECK(json::parse(r.body).value("ID", "") != "b");
  }
  CHECK(h.agent->count(Method::Put, "/v1/agent/service/deregister/old") == 1);
  CHECK_FALSE(h.registry->state().in_sync);  // "b" cannot be ours while the other owner holds it
  CHECK(h.registry->state().last_error == "service id b belongs to another owner in Consul");

  // The other owner goes away: the next read of "b" finds it gone, and we register it.
  h.agent->services.erase("b");
  h.agent->checks.erase("grpc-registrar:b");
  for (int i = 0; i < 10 && !h.agent->services.contains("b"); ++i) {
    h.advance(milliseconds(10));
    h.run_agent();
  }
  CHECK(h.agent->services.at("b").at("Meta").at("grpc-registrar-owner") == "test-owner");
}

TEST_CASE("a restart of the daemon finds its unchanged registrations and writes nothing") {
  const std::string notes =
      "grpc.health.v1 result pushed by grpc-registrar every 10ms (TTL 30ms); Consul deregisters "
      "the service after 1m critical";
  auto prepare = [&](FakeAgent& a) {
    a.preload("a", "svc", ours(), "passing", notes);
    a.services["a"]["Address"] = "10.0.0.1";
    a.services["a"]["Port"] = 5000;
    a.services["a"]["Tags"] = json::array({"v1"});
    a.services["a"]["Meta"]["zone"] = "a";
  };
  Harness h(spec(), prepare);
  h.start(set_of({reg("a")}));
  h.run_agent();
  CHECK(h.agent->writes() == 0);
  CHECK(h.agent->log.size() == 2);  // GET services, GET checks
  CHECK(h.registry->state().inherited_ids == std::set<std::string>{"a"});
  // The supervisor then starts it healthy: still nothing to write.
  h.registry->apply(set_of({reg("a", Health::Passing, "no probe result yet")}));
  h.settle();
  CHECK(h.agent->pending.empty());
  CHECK(h.registry->state().in_sync);

  SECTION("other check settings (another TTL): registered again") {
    Harness h2(spec(), [&](FakeAgent& a) {
      prepare(a);
      a.checks["grpc-registrar:a"]["Notes"] = "something else";
    });
    h2.start(set_of({reg("a")}));
    h2.run_agent();
    CHECK(h2.agent->count(Method::Put, "/v1/agent/service/register") == 1);
    CHECK(h2.registry->state().inherited_ids.empty());
  }
}

TEST_CASE("a service Consul reaped while critical is registered again only once it passes") {
  Harness h;
  h.start(set_of({reg("a", Health::Critical, "NOT_SERVING")}));
  h.run_agent();
  // Critical for longer than deregister_critical_after: Consul's reaper removes it.
  h.clock.advance(2min);
  h.agent->services.clear();
  h.agent->checks.clear();
  h.let_time_pass(milliseconds(20));
  h.run_agent();  // the refresh answers 404
  CHECK(h.agent->services.empty());
  const auto registers = h.agent->count(Method::Put, "/v1/agent/service/register");
  for (int i = 0; i < 10; ++i) {  // no thrash: nothing more while it stays critical
    h.advance(milliseconds(10));
    h.run_agent();
  }
  CHECK(h.agent->count(Method::Put, "/v1/agent/service/register") == registers);
  CHECK(h.registry->state().in_sync);  // reaped is what deregister_critical_after asks for
  h.registry->apply(set_of({reg("a", Health::Passing, "SERVING")}));
  h.run_agent();
  CHECK(h.agent->status_of("grpc-registrar:a") == "passing");
}

TEST_CASE("a service missing while critical for a short time is registered again, once") {
  Harness h;
  h.start(set_of({reg("a", Health::Critical, "NOT_SERVING")}));
  h.run_agent();
  h.agent->services.clear();
  h.agent->checks.clear();
  h.advance(milliseconds(10));
  h.run_agent();
  CHECK(h.agent->status_of("grpc-registrar:a") == "critical");  // e.g. an agent restart
  CHECK(h.agent->count(Method::Put, "/v1/agent/service/register") == 2);
  // Gone again in the same critical spell (a reaper whose clock runs faster than ours): that is
  // what deregister_critical_after asks for, so it stays away until it passes.
  h.agent->services.clear();
  h.agent->checks.clear();
  for (int i = 0; i < 5; ++i) {
    h.advance(milliseconds(10));
    h.run_agent();
  }
  CHECK(h.agent->count(Method::Put, "/v1/agent/service/register") == 2);
  h.registry->apply(set_of({reg("a", Health::Passing, "SERVING")}));
  h.run_agent();
  CHECK(h.agent->status_of("grpc-registrar:a") == "passing");
  // Passing once resets it: the next loss while critical is registered again at once.
  h.registry->apply(set_of({reg("a", Health::Critical, "NOT_SERVING")}));
  h.run_agent();
  h.agent->services.clear();
  h.agent->checks.clear();
  h.advance(milliseconds(10));
  h.run_agent();
  CHECK(h.agent->count(Method::Put, "/v1/agent/service/register") == 4);
}

TEST_CASE("shutdown deregisters every service of ours, and only those") {
  Harness h(spec(), [](FakeAgent& a) { a.preload("foreign", "svc", json::object()); });
  h.start(set_of({reg("a"), reg("b", Health::Passing, "SERVING")}));
  h.run_agent();
  bool done = false;
  bool clean = false;
  h.registry->shutdown(milliseconds(1000), [&](bool c) {
    done = true;
    clean = c;
  });
  h.run_agent();
  CHECK(done);
  CHECK(clean);
  CHECK(h.agent->services.size() == 1);
  CHECK(h.agent->services.contains("foreign"));
  CHECK(h.agent->count(Method::Put, "/v1/agent/service/deregister/") == 2);
  h.registry->apply(set_of({reg("c")}));  // ignored after shutdown
  h.settle();
  CHECK(h.agent->pending.empty());
}

TEST_CASE("shutdown with the agent down retries until its timeout, then reports unclean") {
  Harness h;
  h.start(set_of({reg("a")}));
  h.run_agent();
  std::optional<bool> clean;
  h.registry->shutdown(milliseconds(250), [&](bool c) { clean = c; });
  for (int i = 0; i < 40 && !clean; ++i) {
    h.settle();
    while (!h.agent->pending.empty())
      h.agent->answer_with(FakeAgent::transport_error(HttpResult::Error::Connect));
    h.let_time_pass(milliseconds(20));
  }
  REQUIRE(clean.has_value());
  CHECK_FALSE(*clean);
  CHECK(h.agent->count(Method::Put, "/v1/agent/service/deregister/a") >= 2);
}

TEST_CASE("shutdown when nothing was ever registered finishes at once") {
  Harness h;
  h.start(set_of({reg("a")}));  // the listing never answers
  bool done = false;
  h.registry->shutdown(milliseconds(1000), [&](bool c) {
    done = true;
    CHECK(c);
  });
  h.settle();
  CHECK(done);
}

TEST_CASE("services leaving the desired set are deregistered, unchanged ones see no write") {
  Harness h;
  h.start(set_of({reg("a"), reg("b")}));
  h.run_agent();
  const auto writes = h.agent->writes();
  h.registry->apply(set_of({reg("a")}));
  h.run_agent();
  CHECK(h.agent->writes() == writes + 1);
  CHECK(h.agent->count(Method::Put, "/v1/agent/service/deregister/b") == 1);
  CHECK_FALSE(h.agent->services.contains("b"));
  CHECK(h.registry->state().registered_ids == std::set<std::string>{"a"});
}

TEST_CASE("weights, when set, are part of the registration") {
  auto s = spec();
  s.consul.weights = config::ConsulWeights{10, 2};
  Harness h(s);
  h.start(set_of({reg("a")}));
  h.run_agent();
  CHECK(h.agent->services.at("a").at("Weights") == json{{"Passing", 10}, {"Warning", 2}});
}

TEST_CASE("a service the agent refuses waits on its own backoff, the others go on") {
  Harness h;
  h.start(set_of({reg("a", Health::Passing, "SERVING"), reg("b", Health::Passing, "SERVING")}));
  h.agent->answer();  // services
  h.settle();
  // "a" is refused (an ACL policy without its name), "b" goes through.
  REQUIRE(json::parse(h.agent->next().body).at("ID") == "a");
  h.agent->answer_with(FakeAgent::answer_of(
      403,
      "Permission denied: token with AccessorID 'x' lacks permission 'service:write' on \"svc\""));
  h.run_agent();
  CHECK(h.agent->services.contains("b"));
  CHECK_FALSE(h.agent->services.contains("a"));
  CHECK(h.registry->state().last_error.find("registering a: 403 Permission denied") == 0);
  // b's refreshes go on while a waits; a is tried again after its backoff.
  h.advance(milliseconds(10));
  h.run_agent();
  CHECK(h.agent->services.contains("a"));
  CHECK(h.agent->count(Method::Put, "/v1/agent/check/update/grpc-registrar:b") >= 2);
  CHECK(h.registry->state().last_error.empty());
  CHECK(h.registry->state().in_sync);
}

namespace {

// The log lines the registry writes, caught by a sink installed as the default logger.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out_);
    sink->set_pattern("%l: %v");
    auto logger = std::make_shared<spdlog::logger>("consul-registry-test", sink);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  std::size_t count(const std::string& needle) const {
    std::size_t n = 0;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
    return n;
  }
  std::string text() const { return out_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream out_;
};

HttpResult connect_error(const std::string& text) {
  HttpResult r;
  r.error = HttpResult::Error::Connect;
  r.error_text = text;
  return r;
}

// Fails the pending request with `text`, then lets the backoff run out until the next one.
void fail_and_wait_for_retry(Harness& h, const std::string& text) {
  REQUIRE_FALSE(h.agent->pending.empty());
  h.agent->answer_with(connect_error(text));
  for (int i = 0; i < 20 && h.agent->pending.empty(); ++i) h.let_time_pass(milliseconds(5));
  REQUIRE_FALSE(h.agent->pending.empty());
}

}  // namespace

TEST_CASE("TLS failures: one line when the agent goes down, one per new cause, none per retry") {
  CapturedLog log;
  Harness h;
  h.start(set_of({reg("a")}));
  const std::string wrong_ca =
      "TLS: the agent's certificate is not signed by a trusted CA (check "
      "registry.consul.tls.ca_file / CONSUL_CACERT (/ca.pem))";
  for (int i = 0; i < 3; ++i) fail_and_wait_for_retry(h, wrong_ca);
  CHECK(log.count("unreachable") == 1);
  CHECK(log.count("Consul agent at fake:8500 unreachable (listing the agent's services: " +
                  wrong_ca + "); retrying with backoff") == 1);
  CHECK(h.registry->state().connectivity == Connectivity::Down);
  CHECK(h.registry->state().last_error == "listing the agent's services: " + wrong_ca);

  // The CA is fixed, but the agent now wants a client certificate: news, told once.
  const std::string no_cert =
      "TLS: the agent requires a client certificate (verify_incoming); set "
      "registry.consul.tls.cert_file / CONSUL_CLIENT_CERT and registry.consul.tls.key_file / "
      "CONSUL_CLIENT_KEY";
  for (int i = 0; i < 3; ++i) fail_and_wait_for_retry(h, no_cert);
  CHECK(log.count("unreachable") == 2);
  CHECK(log.count("still unreachable, now: listing the agent's services: " + no_cert) == 1);
  CHECK(h.registry->state().last_error == "listing the agent's services: " + no_cert);
  // Failing two ways by turns: each cause was told once in this outage, nothing more.
  for (int i = 0; i < 3; ++i) {
    fail_and_wait_for_retry(h, wrong_ca);
    fail_and_wait_for_retry(h, no_cert);
  }
  CHECK(log.count("unreachable") == 2);
  CHECK(h.registry->state().last_error == "listing the agent's services: " + no_cert);

  h.run_agent();
  CHECK(h.registry->state().connectivity == Connectivity::Up);
  CHECK(log.count("Consul agent reachable at fake:8500") == 1);
  CHECK(h.agent->services.contains("a"));
  // Down again with the first cause: a new state change, one line again.
  h.advance(milliseconds(10));
  REQUIRE_FALSE(h.agent->pending.empty());
  fail_and_wait_for_retry(h, wrong_ca);
  fail_and_wait_for_retry(h, wrong_ca);
  CHECK(log.count("unreachable (") == 2);
  CHECK(log.count("still unreachable") == 1);
}

TEST_CASE("TLS at start: what is verified is logged once, verification off is a warning") {
  SECTION("verified, with a CA file and a client certificate") {
    CapturedLog log;
    auto s = spec();
    s.consul.tls.enabled = true;
    s.consul.tls.ca_file = "/etc/consul/ca.pem";
    s.consul.tls.cert_file = "/etc/consul/client.pem";
    s.consul.tls.key_file = "/etc/consul/client.key";
    Harness h(s);
    h.start(set_of({reg("a")}));
    CHECK(log.count("info: registry: HTTPS to the Consul agent: CA /etc/consul/ca.pem, verifying "
                    "the host of the address, client certificate /etc/consul/client.pem") == 1);
    CHECK(log.count("VERIFICATION IS OFF") == 0);
    CHECK(log.count("client.key") == 0);  // the key's path is not news; its content never is
  }
  SECTION("insecure_skip_verify") {
    CapturedLog log;
    auto s = spec();
    s.consul.tls.enabled = true;
    s.consul.tls.insecure_skip_verify = true;
    Harness h(s);
    h.start(set_of({reg("a")}));
    CHECK(log.count("warning: registry: TLS VERIFICATION IS OFF for the Consul agent") == 1);
    CHECK(log.count("HTTPS to the Consul agent") == 0);
  }
  SECTION("plain HTTP: nothing about TLS") {
    CapturedLog log;
    Harness h;
    h.start(set_of({reg("a")}));
    CHECK(log.count("TLS") == 0);
    CHECK(log.count("HTTPS") == 0);
  }
}

TEST_CASE("apply after shutdown is ignored, and a second shutdown does nothing") {
  Harness h;
  h.start(set_of({reg("a")}));
  h.run_agent();
  int calls = 0;
  bool clean = false;
  h.registry->shutdown(milliseconds(1000), [&](bool c) {
    ++calls;
    clean = c;
  });
  h.run_agent();
  h.registry->shutdown(milliseconds(1000), [&](bool) { ++calls; });
  const auto sent = h.agent->log.size();
  h.registry->apply(set_of({reg("a"), reg("b", Health::Passing)}));
  h.advance(milliseconds(100));  // past every refresh and read-back the registry had due
  h.run_agent();
  CHECK(h.agent->log.size() == sent);
  CHECK(calls == 1);
  CHECK(clean);
  CHECK(h.agent->services.empty());
}

TEST_CASE("an answer that arrives after the registry was destroyed does nothing") {
  Harness h;
  h.start(set_of({reg("a")}));
  REQUIRE(h.agent->pending.size() == 1);  // the listing
  auto call = std::move(h.agent->pending.front());
  h.agent->pending.pop_front();
  const auto reported = h.states.size();
  std::weak_ptr<ConsulRegistry> weak = h.registry;
  h.registry.reset();  // the agent (its transport) goes with it; the completion outlives both
  REQUIRE(weak.expired());
  call.done(FakeAgent::answer_of(200, "{}"));
  h.clock.advance(milliseconds(100));
  h.let_time_pass();
  CHECK(h.states.size() == reported);  // no state change reported, no use after free (ASan)
}
