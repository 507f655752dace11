// The Consul backend's pace on a driven ManualClock: every check refreshed every TTL/3 however
// many there are (the due-time queue), and failed refreshes retried within the TTL's budget, so
// that a short burst of agent errors never lets a check expire (issue 17, item 4). Time moves
// only when the test moves it; the agent answers at once unless the test says otherwise.
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <sstream>

#include "fake_agent.hpp"
#include "registry/consul/consul_registry.hpp"

using namespace registrar;
using namespace registrar::registry;
using namespace registrar::registry::consul;
using registrar::registry::consul::test::FakeAgent;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

namespace {

using time_point = runtime::Clock::time_point;

config::RegistrySpec paced_spec(milliseconds ttl, milliseconds backoff_initial) {
  config::RegistrySpec s;
  s.kind = config::RegistryKind::Consul;
  s.consul.owner = "test-owner";
  s.consul.check_ttl = ttl;
  s.consul.deregister_critical_after = 1min;
  s.consul.reconcile_interval = 0ms;  // refreshes only: their pace is what is tested
  s.backoff.initial = backoff_initial;
  s.backoff.max = 30s;
  s.backoff.multiplier = 2;
  return s;
}

Registration passing_reg(const std::string& id) {
  return {"svc", id, "10.0.0.1", 5000, {}, {}, Health::Passing, "SERVING"};
}

// The registry on a driven clock: its timers fire only when advance_to_next_timer() gets there.
struct PacedHarness {
  boost::asio::io_context io;
  runtime::ManualClock clock;
  FakeAgent* agent = nullptr;
  std::shared_ptr<ConsulRegistry> registry;
  // Per check id: when the agent last accepted a register or an update (its TTL restarts).
  std::map<std::string, std::vector<time_point>> resets;

  explicit PacedHarness(const config::RegistrySpec& s) {
    clock.drive_timers(true);
    auto t = std::make_unique<FakeAgent>();
    t->executor = io.get_executor();
    agent = t.get();
    registry = std::make_shared<ConsulRegistry>(io.get_executor(), s, std::move(t), clock,
                                                [] { return 0.5; });
  }
  void settle() {
    for (int i = 0; i < 1000 && io.poll() > 0; ++i) {
    }
    io.restart();
  }
  // Answers the oldest request as the model says, noting a TTL reset.
  void answer_ok() {
    const HttpRequest req = agent->next();
    agent->answer();
    const std::string path = req.target.substr(0, req.target.find('?'));
    const std::string update = "/v1/agent/check/update/";
    if (path.rfind(update, 0) == 0)
      resets[test::unescape(path.substr(update.size()))].push_back(clock.now());
    if (path == "/v1/agent/service/register")
      resets["grpc-registrar:" + nlohmann::json::parse(req.body).at("ID").get<std::string>()]
          .push_back(clock.now());
    settle();
  }
  void answer_all() {
    settle();
    for (int i = 0; i < 100000 && !agent->pending.empty(); ++i) answer_ok();
    REQUIRE(agent->pending.empty());
  }
  // Moves the clock to the next timer of the registry and lets it fire.
  void advance_to_next_timer() {
    const auto next = clock.next_expiry();
    REQUIRE(next);
    clock.advance(*next - clock.now());
    settle();
  }
};

class PaceLog {
 public:
  PaceLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out_);
    sink->set_pattern("%l: %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("consul-pace-test", sink));
  }
  ~PaceLog() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream out_;
};

}  // namespace

TEST_CASE("consul pace: 1000 checks, each refreshed every TTL/3 exactly, none ever late") {
  PacedHarness h(paced_spec(3s, 1s));  // refreshed every 1 s
  DesiredSet desired;
  for (int i = 0; i < 1000; ++i) {
    auto r = passing_reg("s" + std::to_string(i));
    desired.emplace(r.id, r);
  }
  h.registry->start([](const RegistryState&) {});
  h.registry->apply(desired);
  h.answer_all();  // listing, 1000 registrations, 1000 first outputs
  REQUIRE(h.agent->services.size() == 1000);
  REQUIRE(h.registry->state().in_sync);
  const auto start = h.clock.now();
  // 10 s of refreshes: each timer fires when the first check falls due, and every check due by
  // then is refreshed in the same turn (the agent answers at once here).
  while (h.clock.now() - start < 10s) {
    h.advance_to_next_timer();
    h.answer_all();
  }
  const auto refresh = refresh_interval(3s);
  std::size_t refreshes = 0;
  for (const auto& [id, at] : h.resets) {
    REQUIRE(at.size() >= 10);
    for (std::size_t i = 2; i < at.size(); ++i) {  // from the first refresh after the output
      CHECK(at[i] - at[i - 1] == refresh);
      ++refreshes;
    }
  }
  CHECK(h.resets.size() == 1000);
  CHECK(refreshes >= 1000 * 9);
  CHECK(h.registry->state().in_sync);
}

TEST_CASE("consul pace: five 500s in a row never let a 2 s check expire (backoff 1 s)") {
  PaceLog log;
  PacedHarness h(paced_spec(2s, 1s));
  h.registry->start([](const RegistryState&) {});
  h.registry->apply({{"a", passing_reg("a")}});
  h.answer_all();
  REQUIRE(h.agent->status_of("grpc-registrar:a") == "passing");
  const auto last_ok = h.resets.at("grpc-registrar:a").back();

  // The next refresh, and four retries, answered 500.
  std::vector<time_point> sent;
  for (int i = 0; i < 5; ++i) {
    h.advance_to_next_timer();
    REQUIRE(h.agent->pending.size() == 1);
    CHECK(h.agent->next().target == "/v1/agent/check/update/grpc-registrar:a");
    sent.push_back(h.clock.now());
    h.agent->answer_with(FakeAgent::answer_of(500, "rpc error making call: No cluster leader"));
    h.settle();
    CHECK(h.agent->pending.empty());  // a retry waits
  }
  h.advance_to_next_timer();
  REQUIRE(h.agent->pending.size() == 1);
  const auto recovered_at = h.clock.now();
  h.answer_all();

  // Every attempt, the successful one included, within the TTL of the last accepted reset.
  CHECK(sent.front() - last_ok == refresh_interval(2s));
  CHECK(recovered_at - last_ok < 2s);
  // Each wait at most an eighth of what was left of the TTL (and well under the 1 s backoff).
  for (std::size_t i = 1; i < sent.size(); ++i) {
    const auto left = last_ok + 2s - sent[i - 1];
    CHECK(sent[i] - sent[i - 1] <= left / 8 + 1ms);
  }
  CHECK(last_ok + 2s - recovered_at > 600ms);  // room to spare
  CHECK(h.agent->status_of("grpc-registrar:a") == "passing");
  CHECK(h.registry->state().connectivity == Connectivity::Up);
  // Told as what it is: the agent answers, with server errors. Once, and once recovered.
  const std::string text = log.text();
  CHECK(text.find("Consul agent at fake:8500 answering with server errors (updating check "
                  "grpc-registrar:a: 500 rpc error making call: No cluster leader)") !=
        std::string::npos);
  CHECK(text.find("unreachable") == std::string::npos);
  CHECK(text.find("Consul agent reachable at fake:8500") != std::string::npos);
}

TEST_CASE("consul pace: once every check has expired, the general backoff paces the retries") {
  PacedHarness h(paced_spec(2s, 1s));
  h.registry->start([](const RegistryState&) {});
  h.registry->apply({{"a", passing_reg("a")}});
  h.answer_all();
  const auto last_ok = h.resets.at("grpc-registrar:a").back();
  std::vector<time_point> sent;
  for (int i = 0; i < 30; ++i) {
    h.advance_to_next_timer();
    REQUIRE(h.agent->pending.size() == 1);
    sent.push_back(h.clock.now());
    h.agent->answer_with(FakeAgent::transport_error(HttpResult::Error::Connect));
    h.settle();
  }
  // Within the TTL the retries come ever faster, never under TTL/30; after it they back off.
  bool expired_seen = false;
  for (std::size_t i = 1; i < sent.size(); ++i) {
    const auto wait = sent[i] - sent[i - 1];
    if (sent[i - 1] >= last_ok + 2s) {
      CHECK(wait >= 1s);  // backoff.initial at least
      expired_seen = true;
    } else {
      CHECK(wait >= std::chrono::duration_cast<runtime::Clock::duration>(2s) / 30);
    }
  }
  CHECK(expired_seen);
  // A few dozen requests at most while the check was alive.
  CHECK(std::count_if(sent.begin(), sent.end(), [&](time_point t) { return t < last_ok + 2s; }) <
        40);
}

TEST_CASE("consul pace: a refused service waits its backoff without holding up the others") {
  PacedHarness h(paced_spec(3s, 1s));
  h.registry->start([](const RegistryState&) {});
  DesiredSet desired;
  for (const char* id : {"a", "b", "c"}) desired.emplace(id, passing_reg(id));
  h.registry->apply(desired);
  h.settle();
  h.answer_ok();  // listing
  REQUIRE(h.agent->next().body.find("\"ID\":\"a\"") != std::string::npos);
  h.agent->answer_with(FakeAgent::answer_of(403, "Permission denied"));
  h.answer_all();
  CHECK_FALSE(h.agent->services.contains("a"));
  CHECK(h.agent->services.contains("b"));
  CHECK(h.agent->services.contains("c"));
  CHECK_FALSE(h.registry->state().in_sync);
  CHECK(h.registry->state().last_error.find("403 Permission denied") != std::string::npos);
  // Its own backoff (1 s) runs out before the others' first refresh (1 s after registering).
  h.advance_to_next_timer();
  h.answer_all();
  CHECK(h.agent->services.contains("a"));
  CHECK(h.registry->state().in_sync);
  CHECK(h.registry->state().last_error.empty());
}
