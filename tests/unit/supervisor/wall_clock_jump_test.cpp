// Issue 4, fault 9: a wall-clock step changes nothing. The daemon's parts (supervisor,
// hysteresis, the etcd state machine) run here on a ManualClock whose wall clock is stepped
// forwards and backwards between events, against a scripted etcd. The run must make exactly the
// same calls to etcd as the same run without the steps, while a step of the monotonic clock past
// the lease TTL (the control) does change what happens. This is the right level for the test:
// the real process cannot have its wall clock stepped without privileges, and every timer in it
// is a steady_timer and every deadline a GPR_CLOCK_MONOTONIC one (runtime/grpc_deadline.hpp).
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "registry/etcd/etcd_registry.hpp"
#include "supervisor/supervisor.hpp"
#include "unit/registry/etcd/fake_transport.hpp"

using namespace registrar;
using registrar::test::FakeTransport;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

struct ScriptedProber final : probe::Prober {
  Callback callback;
  void start(Callback cb) override { callback = std::move(cb); }
  void stop() override { callback = nullptr; }
};

struct Trace {
  std::vector<std::string> calls;  // every Txn, grant and revoke, in order
  bool healthy_at_end = false;
  bool in_sync_at_end = false;
  std::optional<runtime::Clock::wall_time_point> last_change_wall;
  friend bool operator==(const Trace& a, const Trace& b) {
    return a.calls == b.calls && a.healthy_at_end == b.healthy_at_end &&
           a.in_sync_at_end == b.in_sync_at_end;
  }
};

std::string describe(const etcdserverpb::TxnRequest& req) {
  std::string s = "txn";
  for (const auto& op : req.success()) {
    if (op.has_request_put())
      s += " put " + op.request_put().key() + "@" + std::to_string(op.request_put().lease());
    else if (op.has_request_delete_range())
      s += " del " + op.request_delete_range().key();
    else
      s += " get " + op.request_range().key();
  }
  return s;
}

// One scripted life: register, keepalives for a while, flap, recover. `step_wall` steps the wall
// clock by an hour forwards, then two hours backwards, then a day forwards, between events.
Trace run(bool step_wall) {
  boost::asio::io_context io;
  runtime::ManualClock clock;
  auto transport = std::make_unique<FakeTransport>();
  transport->executor = io.get_executor();
  FakeTransport& fake = *transport;
  config::RegistrySpec spec;
  spec.etcd.lease_ttl = seconds(2);
  spec.etcd.resync_interval = milliseconds(0);
  spec.backoff.initial = milliseconds(1);
  spec.backoff.max = milliseconds(5);
  auto registry = std::make_shared<registry::etcd::EtcdRegistry>(
      io.get_executor(), spec, std::move(transport), clock, [] { return 0.5; });

  config::Manifest m;
  config::ServiceSpec s;
  s.name = "svc";
  s.id = "a";
  s.address = "10.0.0.1";
  s.port = 5000;
  s.probe.rise = 2;
  s.probe.fall = 2;
  m.services = {s};
  ScriptedProber* prober = nullptr;
  const auto sup = supervisor::Supervisor::create(
      io.get_executor(), m, registry,
      [&](const config::ServiceSpec&) {
        auto p = std::make_unique<ScriptedProber>();
        prober = p.get();
        return p;
      },
      clock);

  Trace trace;
  auto settle = [&] {
    for (int i = 0; i < 100 && io.poll() > 0; ++i) {
    }
    io.restart();
    while (!fake.txns.empty()) {
      trace.calls.push_back(describe(fake.txns.front().first));
      fake.answer_txn();
      for (int i = 0; i < 100 && io.poll() > 0; ++i) {
      }
      io.restart();
    }
  };
  auto step = [&](seconds d) {
    if (step_wall) clock.jump_wall(d);
  };
  auto result = [&](probe::Outcome o) {
    REQUIRE(prober);
    prober->callback(probe::Result{o, "scripted"});
    clock.advance(milliseconds(100));
    settle();
  };

  sup->start();
  REQUIRE(fake.grants.size() == 1);
  trace.calls.push_back("grant");
  fake.grant(100, 2);
  settle();
  step(seconds(3600));
  result(probe::Outcome::Serving);
  result(probe::Outcome::Serving);  // rise = 2: registered
  // A second of keepalives (the tick is every 666 ms), each answered, with the wall clock
  // stepped back in between.
  for (int i = 0; i < 2; ++i) {
    io.run_for(milliseconds(700));
    io.restart();
    clock.advance(milliseconds(700));
    fake.keepalive_answer(100, 2);
    step(seconds(-7200));
  }
  settle();
  result(probe::Outcome::Timeout);
  step(seconds(86400));
  result(probe::Outcome::Serving);  // no two failures in a row: no change
  result(probe::Outcome::Timeout);
  result(probe::Outcome::Timeout);  // fall = 2: removed
  result(probe::Outcome::Serving);
  result(probe::Outcome::Serving);  // back
  trace.calls.push_back("grants pending: " + std::to_string(fake.grants.size()));
  for (auto id : fake.revoked) trace.calls.push_back("revoke " + std::to_string(id));
  trace.healthy_at_end = sup->status().at(0).healthy;
  trace.in_sync_at_end = registry->state().in_sync;
  trace.last_change_wall = sup->status().at(0).last_change_wall;
  return trace;
}

}  // namespace

TEST_CASE("a wall-clock step changes nothing: the same calls to etcd as without it") {
  const Trace plain = run(false);
  const Trace stepped = run(true);
  INFO("without steps:\n"
       << [&] {
            std::string s;
            for (const auto& c : plain.calls) s += c + "\n";
            return s;
          }());
  CHECK(stepped == plain);
  CHECK(plain.healthy_at_end);
  CHECK(plain.in_sync_at_end);
  // Writes happened only where the thresholds were crossed: put, delete, put.
  CHECK(std::count_if(plain.calls.begin(), plain.calls.end(),
                      [](const std::string& c) { return c.rfind("txn", 0) == 0; }) == 3);
  CHECK(std::find(plain.calls.begin(), plain.calls.end(), "grants pending: 0") !=
        plain.calls.end());
  // The wall clock was read (for humans), and did move: it is simply never used to decide.
  REQUIRE(plain.last_change_wall.has_value());
  REQUIRE(stepped.last_change_wall.has_value());
  CHECK(*stepped.last_change_wall - *plain.last_change_wall ==
        std::chrono::seconds(3600 - 7200 * 2 + 86400));
}

TEST_CASE("the control: the monotonic clock moving past the TTL does count") {
  boost::asio::io_context io;
  runtime::ManualClock clock;
  auto transport = std::make_unique<FakeTransport>();
  transport->executor = io.get_executor();
  FakeTransport& fake = *transport;
  config::RegistrySpec spec;
  spec.etcd.lease_ttl = seconds(2);
  spec.etcd.resync_interval = milliseconds(0);
  auto registry = std::make_shared<registry::etcd::EtcdRegistry>(
      io.get_executor(), spec, std::move(transport), clock, [] { return 0.5; });
  registry->start({});
  fake.grant(100, 2);
  io.poll();
  io.restart();
  clock.jump_wall(std::chrono::hours(24));  // a day of wall time: nothing
  io.run_for(milliseconds(700));
  io.restart();
  CHECK(fake.grants.empty());
  clock.advance(seconds(3));  // three seconds of monotonic time without an answer: lease lost
  io.run_for(milliseconds(700));
  io.restart();
  CHECK(fake.grants.size() == 1);
}
