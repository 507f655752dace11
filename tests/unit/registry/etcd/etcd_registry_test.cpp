// The etcd state machine against a scripted transport: the test decides when and how each call
// completes, so interleavings that real etcd makes rare are replayed exactly.
#include "registry/etcd/etcd_registry.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <deque>

#include "unit/registry/etcd/etcd_harness.hpp"

using namespace registrar;
using namespace registrar::registry;
using namespace registrar::registry::etcd;
using registrar::test::FakeTransport;
using std::chrono::milliseconds;

namespace {

Registration reg(const std::string& id, std::vector<std::string> tags = {}) {
  return {"svc",
          id,
          "10.0.0.1",
          static_cast<std::uint16_t>(5000 + id.size()),
          std::move(tags),
          {},
          registrar::registry::Health::Passing,
          "SERVING"};
}

DesiredSet set_of(std::initializer_list<Registration> regs) {
  DesiredSet d;
  for (const auto& r : regs) d.emplace(r.id, r);
  return d;
}

config::RegistrySpec spec(std::chrono::milliseconds ttl = std::chrono::seconds(10)) {
  config::RegistrySpec s;
  s.etcd.lease_ttl = ttl;
  s.etcd.resync_interval = milliseconds(0);
  s.backoff.initial = milliseconds(1);
  s.backoff.max = milliseconds(5);
  return s;
}

// The shared harness, with this file's default settings.
struct Harness : registrar::test::EtcdHarness {
  explicit Harness(const config::RegistrySpec& s = spec()) : EtcdHarness(s) {}
};

}  // namespace

TEST_CASE("an instance that is not passing is never written to etcd") {
  Harness h;
  auto down = reg("c");
  down.health = registrar::registry::Health::Critical;
  h.registry->apply(set_of({reg("a"), down}));
  h.fake->grant(100);
  REQUIRE(h.fake->txns.size() == 1);
  auto txn = h.fake->answer_txn();
  CHECK(h.fake->puts_in(txn) == 1);
  CHECK(h.keys() == std::set<std::string>{"/services/svc/a"});
  CHECK(h.registry->state().in_sync);
  CHECK(h.registry->state().registered_ids == std::set<std::string>{"a"});
}

TEST_CASE("one lease, the desired set in one Txn, and an unchanged entry is never rewritten") {
  Harness h;
  REQUIRE(h.fake->grants.size() == 1);
  CHECK(h.fake->grants.front().first == 10);
  h.registry->apply(set_of({reg("a"), reg("bb")}));
  h.fake->grant(100);
  REQUIRE(h.fake->txns.size() == 1);
  auto first = h.fake->answer_txn();
  CHECK(h.fake->puts_in(first) == 2);
  for (const auto& op : first.success()) CHECK(op.request_put().lease() == 100);
  CHECK(h.keys() == std::set<std::string>{"/services/svc/a", "/services/svc/bb"});
  CHECK(h.registry->state().in_sync);
  CHECK(h.registry->state().registered_ids == std::set<std::string>{"a", "bb"});

  h.registry->apply(set_of({reg("a"), reg("bb")}));
  CHECK(h.fake->txns.empty());  // nothing changed, nothing written

  h.registry->apply(set_of({reg("a", {"blue"}), reg("bb")}));
  REQUIRE(h.fake->txns.size() == 1);
  auto changed = h.fake->answer_txn();
  REQUIRE(changed.success_size() == 1);
  CHECK(changed.success(0).request_put().key() == "/services/svc/a");

  h.registry->apply({});
  REQUIRE(h.fake->txns.size() == 1);
  CHECK(h.fake->answer_txn().success_size() == 2);
  CHECK(h.keys().empty());
  CHECK(h.fake->grants.empty());  // still the one lease
}

TEST_CASE("changes arriving while a write is in flight are folded into the next Txn") {
  Harness h;
  h.fake->grant(100);
  h.registry->apply(set_of({reg("a")}));
  REQUIRE(h.fake->txns.size() == 1);
  h.registry->apply(set_of({reg("a"), reg("bb")}));
  h.registry->apply(set_of({reg("a"), reg("bb"), reg("ccc")}));
  CHECK(h.fake->txns.size() == 1);  // one operation at a time
  h.fake->answer_txn();
  REQUIRE(h.fake->txns.size() == 1);
  CHECK(h.fake->puts_in(h.fake->answer_txn()) == 2);
  CHECK(h.keys().size() == 3);
}

TEST_CASE("a lease lost while a write is in flight: new lease, everything again, old revoked") {
  Harness h;
  h.fake->grant(100);
  h.settle();  // keepalive stream opens, first keepalive sent
  REQUIRE(h.fake->streams.size() == 1);
  CHECK(h.fake->streams[0]->sent == std::vector<std::int64_t>{100});
  h.registry->apply(set_of({reg("a")}));
  REQUIRE(h.fake->txns.size() == 1);

  // etcd says the lease is gone (TTL 0) while the put is still in flight.
  h.fake->leases.erase(100);
  h.fake->keepalive_answer(100, 0);
  CHECK_FALSE(h.fake->streams[0]->is_open);
  h.fake->answer_txn();           // "requested lease not found"
  CHECK(h.fake->grants.empty());  // a lease lost within its first TTL waits one backoff step
  h.let_time_pass();
  REQUIRE(h.fake->grants.size() == 1);
  h.fake->grant(200);
  // The put may have landed under 100: a Range checks before anything is written or deleted.
  REQUIRE(h.fake->txns.size() == 1);
  CHECK(h.fake->answer_txn().success(0).has_request_range());
  REQUIRE(h.fake->txns.size() == 1);
  auto again = h.fake->answer_txn();
  CHECK(h.fake->puts_in(again) == 1);
  REQUIRE(h.fake->kv.contains("/services/svc/a"));
  CHECK(h.fake->kv.at("/services/svc/a").lease == 200);
  h.settle();
  CHECK(std::find(h.fake->revoked.begin(), h.fake->revoked.end(), 100) != h.fake->revoked.end());
  CHECK(h.registry->state().in_sync);
}

TEST_CASE("a timed-out put that landed is confirmed by a Range, not written again") {
  Harness h;
  h.fake->grant(100);
  h.registry->apply(set_of({reg("a")}));
  // etcd applied the put, but the answer never came back.
  h.fake->answer_txn(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline"), true);
  CHECK(h.registry->state().connectivity == Connectivity::Down);
  h.let_time_pass();
  REQUIRE(h.fake->txns.size() == 1);
  auto verify = h.fake->answer_txn();
  REQUIRE(verify.success_size() == 1);
  CHECK(verify.success(0).has_request_range());
  h.settle();
  CHECK(h.fake->txns.empty());  // confirmed present: no second put
  CHECK(h.registry->state().in_sync);
  CHECK(h.registry->state().connectivity == Connectivity::Up);
}

TEST_CASE("a key of ours that is no longer desired is found by verify and deleted") {
  Harness h;
  h.fake->grant(100);
  h.registry->apply(set_of({reg("a")}));
  h.fake->answer_txn();
  h.registry->apply({});
  h.fake->answer_txn();
  REQUIRE(h.keys().empty());
  // A put that timed out earlier lands late, on our lease.
  h.fake->kv["/services/svc/a"] = {"late", 100};
  // A reconnect makes the next keepalive answer trigger a verify.
  h.settle();
  REQUIRE_FALSE(h.fake->streams.empty());
  h.fake->streams.back()->on_closed(grpc::Status(grpc::StatusCode::UNAVAILABLE, "gone"));
  h.let_time_pass();
  REQUIRE_FALSE(h.fake->streams.empty());
  h.fake->keepalive_answer(100, 10);
  for (int i = 0; i < 5 && !h.fake->txns.empty(); ++i) h.fake->answer_txn();
  CHECK(h.keys().empty());
}

TEST_CASE("a grant with an unusable TTL is given back and retried after backoff") {
  // Found by the fuzz target: a TTL <= 0 used to make the first keepalive tick declare the lease
  // lost at once (a grant loop without backoff), a huge one overflowed the keepalive arithmetic.
  // The backoff waits real time here: 300 ms, far more than settle() can take on a loaded machine
  // under ASan (with the suite's 1 ms a retry could come before the "no new grant" check).
  config::RegistrySpec s = spec();
  s.backoff.initial = milliseconds(300);
  s.backoff.max = milliseconds(300);
  for (std::int64_t ttl : {std::int64_t{0}, std::int64_t{-5}, std::int64_t{20'000'000'000}}) {
    Harness h(s);
    h.registry->apply(set_of({reg("a")}));
    REQUIRE(h.fake->grants.size() == 1);
    auto [asked, done] = std::move(h.fake->grants.front());
    h.fake->grants.pop_front();
    etcdserverpb::LeaseGrantResponse r;
    r.set_id(700);
    r.set_ttl(ttl);
    done(grpc::Status::OK, std::move(r));
    h.settle();
    INFO("TTL " << ttl);
    CHECK(h.fake->revoked == std::vector<std::int64_t>{700});
    CHECK(h.fake->txns.empty());    // nothing written on that lease
    CHECK(h.fake->grants.empty());  // no new grant before the backoff delay
    h.let_time_pass(milliseconds(900));
    REQUIRE(h.fake->grants.size() == 1);  // retried after the backoff
    h.fake->grant(701);
    h.settle();
    h.fake->answer_txn();
    h.settle();
    CHECK(h.keys().size() >= 1);
  }
}

TEST_CASE("shutdown during a grant reports done and gives the late lease back") {
  Harness h;
  REQUIRE(h.fake->grants.size() == 1);
  bool done = false;
  bool clean = false;
  h.registry->shutdown(milliseconds(1000), [&](bool c) {
    done = true;
    clean = c;
  });
  h.settle();
  CHECK(done);
  CHECK(clean);
  h.fake->grant(300);
  h.settle();
  CHECK(h.fake->revoked == std::vector<std::int64_t>{300});
  h.registry->apply(set_of({reg("a")}));  // ignored after shutdown
  CHECK(h.fake->txns.empty());
}

TEST_CASE("shutdown revokes every lease of ours and deletes nothing by name") {
  Harness h;
  h.fake->grant(100);
  h.registry->apply(set_of({reg("a"), reg("bb")}));
  h.fake->answer_txn();
  const auto txns_before = h.fake->all_txns.size();
  bool done = false;
  h.registry->shutdown(milliseconds(1000), [&](bool clean) {
    done = true;
    CHECK(clean);
  });
  h.settle();
  CHECK(done);
  CHECK(h.fake->revoked == std::vector<std::int64_t>{100});
  CHECK(h.fake->all_txns.size() == txns_before);
  CHECK(h.keys().empty());  // revoking the lease took its keys
}

TEST_CASE("no keepalive answer within the TTL means the lease is lost") {
  Harness h(spec(std::chrono::seconds(2)));
  h.fake->grant(100, 2);
  h.settle();
  REQUIRE(h.fake->streams.size() == 1);
  h.clock.advance(std::chrono::seconds(3));  // silence past the TTL
  h.io.run_for(milliseconds(900));           // the next keepalive tick (TTL/3, at least 500 ms)
  h.io.restart();
  CHECK(h.fake->grants.size() == 1);  // asking for a new lease
}

TEST_CASE("etcd refusing large transactions: the batch shrinks until it fits") {
  Harness h;
  h.fake->max_ops = 2;
  h.fake->grant(100);
  h.registry->apply(set_of({reg("a"), reg("bb"), reg("ccc"), reg("dddd"), reg("eeeee")}));
  for (int i = 0; i < 40 && h.keys().size() < 5; ++i) {
    if (h.fake->txns.empty()) h.let_time_pass(milliseconds(10));
    if (!h.fake->txns.empty()) h.fake->answer_txn();
  }
  CHECK(h.keys().size() == 5);
  CHECK(h.fake->puts_in(h.fake->all_txns.back()) <= 2);
}

TEST_CASE("after a re-grant, a leftover key now owned by someone else is not deleted") {
  Harness h;
  h.fake->grant(100);
  h.settle();
  h.registry->apply(set_of({reg("a")}));
  h.fake->answer_txn();
  // Our lease expires; another owner writes the same key on its own lease.
  h.fake->leases.erase(100);
  h.fake->kv["/services/svc/a"] = {"theirs", 999};
  h.clock.advance(std::chrono::seconds(20));  // lost after its first TTL: re-grant at once
  h.fake->keepalive_answer(100, 0);
  h.registry->apply({});  // and our service turns unhealthy
  h.fake->grant(200);
  // The next Txn must be a Range (verify), not a blind delete.
  REQUIRE(h.fake->txns.size() == 1);
  auto verify = h.fake->answer_txn();
  REQUIRE(verify.success_size() >= 1);
  CHECK(verify.success(0).has_request_range());
  h.settle();
  for (int i = 0; i < 5 && !h.fake->txns.empty(); ++i) {
    auto req = h.fake->answer_txn();
    for (const auto& op : req.success()) CHECK_FALSE(op.has_request_delete_range());
  }
  REQUIRE(h.fake->kv.contains("/services/svc/a"));
  CHECK(h.fake->kv.at("/services/svc/a").lease == 999);
}

TEST_CASE("leases lost within their first TTL, again and again, are re-granted ever later") {
  auto s = spec();
  s.backoff.initial = milliseconds(40);
  s.backoff.multiplier = 4;
  s.backoff.max = milliseconds(5000);
  s.backoff.jitter = 0;
  Harness h(s);
  std::int64_t id = 100;
  h.fake->grant(id);
  h.settle();
  // Lose each new lease at once, three times: waits of 40, 160 and 640 ms follow.
  for (int round = 0; round < 3; ++round) {
    h.fake->leases.erase(id);
    h.fake->keepalive_answer(id, 0);
    CHECK(h.fake->grants.empty());
    if (round == 2) {
      h.io.run_for(milliseconds(300));  // timers never fire early: 640 ms is not over yet
      h.io.restart();
      CHECK(h.fake->grants.empty());
    }
    for (int i = 0; i < 100 && h.fake->grants.empty(); ++i) h.let_time_pass(milliseconds(20));
    REQUIRE(h.fake->grants.size() == 1);
    h.fake->grant(++id);
    h.settle();
  }
}

TEST_CASE("shutdown revokes stale leases too, and retries a revoke across an outage") {
  Harness h;
  h.fake->grant(100);
  h.settle();
  h.registry->apply(set_of({reg("a")}));
  h.fake->answer_txn();
  // Lease 100 presumed lost (no answer within the TTL) while etcd still has it.
  h.clock.advance(std::chrono::seconds(11));
  h.io.run_for(milliseconds(3500));  // the next keepalive tick notices the silence
  h.io.restart();
  REQUIRE(h.fake->grants.size() == 1);
  h.fake->grant(200);
  REQUIRE(h.fake->txns.size() == 1);  // verify or re-put: not in sync yet, 100 not revoked yet
  h.fake->revokes_to_fail = 1;
  bool done = false;
  bool clean = false;
  h.registry->shutdown(milliseconds(5000), [&](bool c) {
    done = true;
    clean = c;
  });
  for (int i = 0; i < 50 && !done; ++i) h.let_time_pass(milliseconds(20));
  CHECK(done);
  CHECK(clean);
  CHECK(std::count(h.fake->revoked.begin(), h.fake->revoked.end(), 100) >= 1);
  CHECK(std::count(h.fake->revoked.begin(), h.fake->revoked.end(), 200) >= 1);
  CHECK(h.fake->revoked.size() == 3);  // one of the two was answered UNAVAILABLE, then retried
  CHECK(h.fake->leases.empty());
}

TEST_CASE("a refusal stays reported until a write succeeds, not merely until etcd answers") {
  Harness h;
  h.fake->grant(100);
  h.settle();
  h.registry->apply(set_of({reg("a")}));
  h.fake->answer_txn(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                  "etcdserver: mvcc: database space exceeded"),
                     false);
  CHECK(h.registry->state().last_error.find("space exceeded") != std::string::npos);
  h.fake->keepalive_answer(100, 10);  // etcd answers keepalives all the while
  CHECK(h.registry->state().last_error.find("space exceeded") != std::string::npos);
  for (int i = 0; i < 50 && h.fake->txns.empty(); ++i) h.let_time_pass(milliseconds(10));
  REQUIRE(h.fake->txns.size() == 1);
  h.fake->answer_txn();
  CHECK(h.registry->state().last_error.empty());
  CHECK(h.fake->kv.contains("/services/svc/a"));
}

// ---- ownership records and a previous run's leftovers --------------------------------------

namespace {

const std::string kOwnerKey = "/grpc-registrar/owners/host:/etc/m.yaml";

config::RegistrySpec owned_spec() {
  auto s = spec();
  s.etcd.owner = "host:/etc/m.yaml";
  return s;
}

Registration critical(const std::string& id) {
  auto r = reg(id);
  r.health = registrar::registry::Health::Critical;
  r.output = "no probe result yet";
  return r;
}

}  // namespace

TEST_CASE("the ownership record goes in with the first entry, in the same Txn, naming the lease") {
  Harness h(owned_spec());
  h.fake->grant(100);
  REQUIRE(h.fake->txns.size() == 1);  // first, the record a previous run may have left
  auto read = h.fake->answer_txn();
  REQUIRE(read.success_size() == 1);
  CHECK(read.success(0).request_range().key() == kOwnerKey);
  h.settle();
  CHECK(h.fake->txns.empty());  // nothing desired: nothing written, not even the record
  CHECK(h.registry->state().in_sync);

  h.registry->apply(set_of({reg("a")}));
  REQUIRE(h.fake->txns.size() == 1);
  auto first = h.fake->answer_txn();
  CHECK(h.fake->puts_in(first) == 2);
  for (const auto& op : first.success()) CHECK(op.request_put().lease() == 100);
  REQUIRE(h.fake->kv.contains(kOwnerKey));
  CHECK(h.fake->kv.at(kOwnerKey).value == R"({"lease":"64","owner":"host:/etc/m.yaml"})");
  const auto st = h.registry->state();
  CHECK(st.in_sync);
  CHECK(st.registered == 1);  // the record is not an entry
  CHECK(st.registered_ids == std::set<std::string>{"a"});

  // The last entry goes; the record stays with the lease (no write for it).
  h.registry->apply({});
  REQUIRE(h.fake->txns.size() == 1);
  auto last = h.fake->answer_txn();
  REQUIRE(last.success_size() == 1);
  CHECK(last.success(0).request_delete_range().key() == "/services/svc/a");
  CHECK(h.keys() == std::set<std::string>{kOwnerKey});
  CHECK(h.registry->state().in_sync);
  CHECK(h.registry->state().registered == 0);
  // Shutdown revokes the lease, and the record goes with it.
  h.registry->shutdown(milliseconds(1000), [](bool) {});
  h.settle();
  CHECK(h.keys().empty());
}

TEST_CASE("a previous run's entries: named ones move to the new lease, then the old one goes") {
  Harness h(owned_spec());
  // What a SIGKILLed run left: its record, an entry the manifest still names, one it no longer
  // names, all on its lease 50.
  h.fake->leases.insert(50);
  h.fake->kv[kOwnerKey] = {R"({"lease":"32","owner":"host:/etc/m.yaml"})", 50};
  h.fake->kv["/services/svc/a"] = {"old value of a", 50};
  h.fake->kv["/services/svc/gone"] = {"x", 50};
  // Nothing probed yet: the manifest names "a", not passing. The supervisor's part: inherited
  // services start healthy.
  h.registry->apply(set_of({critical("a")}));
  h.on_state = [&](const RegistryState& st) {
    if (st.inherited_ids.contains("a")) h.registry->apply(set_of({reg("a")}));
  };
  h.fake->grant(100);
  h.fake->answer_txn();  // the record: lease 50
  REQUIRE(h.fake->ttl_calls.size() == 1);
  CHECK(h.fake->ttl_calls.front().first == 50);
  h.fake->answer_ttl();
  REQUIRE_FALSE(h.states.empty());
  CHECK(h.states.back().inherited_ids == std::set<std::string>{"a"});

  // Verify reads the old keys before anything is written or deleted.
  REQUIRE(h.fake->txns.size() == 1);
  auto verify = h.fake->answer_txn();
  for (const auto& op : verify.success()) CHECK(op.has_request_range());
  CHECK(h.fake->revoked.empty());
  // One Txn: "gone" deleted, "a" and the record re-put under the new lease.
  REQUIRE(h.fake->txns.size() == 1);
  auto write = h.fake->answer_txn();
  std::set<std::string> deleted;
  for (const auto& op : write.success())
    if (op.has_request_delete_range()) deleted.insert(op.request_delete_range().key());
  CHECK(deleted == std::set<std::string>{"/services/svc/gone"});
  CHECK(h.fake->puts_in(write) == 2);
  REQUIRE(h.fake->kv.contains("/services/svc/a"));
  CHECK(h.fake->kv.at("/services/svc/a").lease == 100);
  // Only now, with every kept entry under the new lease, is the old lease revoked.
  h.settle();
  CHECK(h.fake->revoked == std::vector<std::int64_t>{50});
  CHECK(h.keys() == std::set<std::string>{kOwnerKey, "/services/svc/a"});
  CHECK(h.fake->kv.at(kOwnerKey).lease == 100);
  CHECK(h.registry->state().in_sync);
  CHECK(h.registry->state().inherited_ids.empty());
}

TEST_CASE("a previous run's lease that is gone leaves nothing to inherit") {
  Harness h(owned_spec());
  h.fake->kv[kOwnerKey] = {"{}", 50};  // read just before lease 50 expired
  h.registry->apply(set_of({critical("a")}));
  h.fake->grant(100);
  h.fake->answer_txn();
  h.fake->answer_ttl();  // TTL -1
  h.settle();
  for (const auto& st : h.states) CHECK(st.inherited_ids.empty());
  CHECK(h.fake->txns.empty());
  CHECK(h.fake->revoked.empty());
  CHECK(h.registry->state().in_sync);
}

TEST_CASE("shutdown while a previous run's lease is being adopted revokes it too") {
  Harness h(owned_spec());
  h.fake->leases.insert(50);
  h.fake->kv[kOwnerKey] = {"{}", 50};
  h.fake->kv["/services/svc/gone"] = {"x", 50};
  h.fake->grant(100);
  h.fake->answer_txn();  // the record names lease 50; LeaseTimeToLive in flight
  REQUIRE(h.fake->ttl_calls.size() == 1);
  bool done = false;
  h.registry->shutdown(milliseconds(1000), [&](bool) { done = true; });
  h.settle();
  CHECK(done);
  std::set<std::int64_t> revoked(h.fake->revoked.begin(), h.fake->revoked.end());
  CHECK(revoked == std::set<std::int64_t>{50, 100});
  CHECK(h.keys().empty());
}

// ---- coming back after an outage ---------------------------------------------------------

TEST_CASE("after an outage, the retry goes as soon as the connection is up, not after backoff") {
  auto s = spec();
  s.backoff.initial = std::chrono::seconds(60);
  s.backoff.max = std::chrono::seconds(60);
  Harness h(s);
  h.fake->connected = false;
  h.fake->fail_grant();
  CHECK(h.registry->state().connectivity == Connectivity::Down);
  h.let_time_pass(milliseconds(3 * kReadyPoll.count()));
  CHECK(h.fake->ready_calls >= 2);  // polled, locally
  CHECK(h.fake->grants.empty());    // the 60 s backoff still runs
  h.fake->connected = true;
  for (int i = 0; i < 10 && h.fake->grants.empty(); ++i) h.let_time_pass(kReadyPoll);
  REQUIRE(h.fake->grants.size() == 1);
  h.fake->grant(100);
  h.settle();
  CHECK(h.registry->state().connectivity == Connectivity::Up);
}

TEST_CASE("a connection that stays up while calls fail leaves the pace to the backoff") {
  auto s = spec();
  s.backoff.initial = std::chrono::seconds(60);
  s.backoff.max = std::chrono::seconds(60);
  Harness h(s);
  h.fake->fail_grant();  // e.g. etcd without a leader: connected, yet UNAVAILABLE
  h.let_time_pass(milliseconds(4 * kReadyPoll.count()));
  CHECK(h.fake->ready_calls >= 2);
  CHECK(h.fake->grants.empty());  // no retry loop on a connection that never went down
}

TEST_CASE("a keepalive stream broken by an outage reopens as soon as the connection is up") {
  auto s = spec();
  s.backoff.initial = std::chrono::seconds(60);
  s.backoff.max = std::chrono::seconds(60);
  Harness h(s);
  h.fake->grant(100);
  h.settle();
  REQUIRE(h.fake->streams.size() == 1);
  h.fake->connected = false;
  h.fake->streams.back()->on_closed(grpc::Status(grpc::StatusCode::UNAVAILABLE, "gone"));
  h.let_time_pass(milliseconds(2 * kReadyPoll.count()));
  CHECK(h.fake->streams.size() == 1);  // the reopen waits out its backoff...
  h.fake->connected = true;
  for (int i = 0; i < 10 && h.fake->streams.size() == 1; ++i) h.let_time_pass(kReadyPoll);
  REQUIRE(h.fake->streams.size() == 2);  // ...until the connection is back
  CHECK(h.fake->streams.back()->sent == std::vector<std::int64_t>{100});
}
