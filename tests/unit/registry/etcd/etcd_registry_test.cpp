// The etcd state machine against a scripted transport: the test decides when and how each call
// completes, so interleavings that real etcd makes rare are replayed exactly.
#include "registry/etcd/etcd_registry.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <deque>

using namespace registrar;
using namespace registrar::registry;
using namespace registrar::registry::etcd;
using std::chrono::milliseconds;

namespace {

struct FakeKeepAlive final : KeepAlive {
  std::vector<std::int64_t> sent;
  bool is_open = true;
  EtcdTransport::OnKeepAlive on_response;
  EtcdTransport::OnClosed on_closed;
  bool send(std::int64_t id) override {
    if (!is_open) return false;
    sent.push_back(id);
    return true;
  }
  void cancel() override { is_open = false; }
  bool open() const override { return is_open; }
};

// Keeps a small model of etcd (key -> value, lease) and the calls not yet answered.
struct FakeTransport final : EtcdTransport {
  struct Stored {
    std::string value;
    std::int64_t lease;
  };
  std::map<std::string, Stored> kv;
  std::set<std::int64_t> leases;
  std::size_t max_ops = 128;
  std::deque<std::pair<etcdserverpb::TxnRequest, Done<etcdserverpb::TxnResponse>>> txns;
  std::deque<std::pair<std::int64_t, Done<etcdserverpb::LeaseGrantResponse>>> grants;
  std::vector<std::int64_t> revoked;
  int revokes_to_fail = 0;                // answer this many revokes with UNAVAILABLE first
  boost::asio::any_io_executor executor;  // revokes complete asynchronously, as in production
  std::vector<std::shared_ptr<FakeKeepAlive>> streams;
  std::vector<etcdserverpb::TxnRequest> all_txns;
  std::string ep = "fake:2379";

  void txn(etcdserverpb::TxnRequest req, Done<etcdserverpb::TxnResponse> done) override {
    all_txns.push_back(req);
    txns.emplace_back(std::move(req), std::move(done));
  }
  void lease_grant(std::int64_t ttl, Done<etcdserverpb::LeaseGrantResponse> done) override {
    grants.emplace_back(ttl, std::move(done));
  }
  void lease_revoke(std::int64_t id, Done<etcdserverpb::LeaseRevokeResponse> done) override {
    revoked.push_back(id);
    grpc::Status status = grpc::Status::OK;
    if (revokes_to_fail > 0) {
      --revokes_to_fail;
      status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused");
    } else {
      if (leases.erase(id) == 0)
        status = grpc::Status(grpc::StatusCode::NOT_FOUND, "lease not found");
      std::erase_if(kv, [id](const auto& e) { return e.second.lease == id; });
    }
    boost::asio::post(executor, [done = std::move(done), status] { done(status, {}); });
  }
  std::shared_ptr<KeepAlive> open_keepalive(OnKeepAlive on_response, OnClosed on_closed) override {
    auto s = std::make_shared<FakeKeepAlive>();
    s->on_response = std::move(on_response);
    s->on_closed = std::move(on_closed);
    streams.push_back(s);
    return s;
  }
  const std::string& endpoint() const override { return ep; }
  void cancel_all() override {}

  // Answers the oldest grant with lease `id`.
  void grant(std::int64_t id, std::int64_t ttl = 10) {
    REQUIRE_FALSE(grants.empty());
    auto [asked, done] = std::move(grants.front());
    grants.pop_front();
    leases.insert(id);
    etcdserverpb::LeaseGrantResponse r;
    r.set_id(id);
    r.set_ttl(std::max(ttl, asked));
    done(grpc::Status::OK, std::move(r));
  }

  // Applies the oldest Txn to the model (as etcd would) and answers it with `status`.
  etcdserverpb::TxnRequest answer_txn(grpc::Status status = grpc::Status::OK, bool apply = true) {
    REQUIRE_FALSE(txns.empty());
    auto [req, done] = std::move(txns.front());
    txns.pop_front();
    etcdserverpb::TxnResponse resp;
    if (status.ok() && static_cast<std::size_t>(req.success_size()) > max_ops) {
      status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "etcdserver: too many operations in txn request");
      apply = false;
    }
    if (apply) {
      for (const auto& op : req.success()) {
        auto* out = resp.add_responses();
        if (op.has_request_put()) {
          const auto& p = op.request_put();
          if (!leases.contains(p.lease())) {
            status =
                grpc::Status(grpc::StatusCode::NOT_FOUND, "etcdserver: requested lease not found");
            break;
          }
          kv[p.key()] = {p.value(), p.lease()};
          out->mutable_response_put();
        } else if (op.has_request_delete_range()) {
          kv.erase(op.request_delete_range().key());
          out->mutable_response_delete_range();
        } else {
          auto* range = out->mutable_response_range();
          if (auto it = kv.find(op.request_range().key()); it != kv.end()) {
            auto* k = range->add_kvs();
            k->set_key(it->first);
            k->set_value(it->second.value);
            k->set_lease(it->second.lease);
          }
        }
      }
    }
    done(status, std::move(resp));
    return req;
  }

  // The newest keepalive stream answers for lease `id` with `ttl` (0: etcd no longer has it).
  void keepalive_answer(std::int64_t id, std::int64_t ttl) {
    REQUIRE_FALSE(streams.empty());
    etcdserverpb::LeaseKeepAliveResponse ka;
    ka.set_id(id);
    ka.set_ttl(ttl);
    streams.back()->on_response(ka);
  }

  std::size_t puts_in(const etcdserverpb::TxnRequest& req) const {
    return static_cast<std::size_t>(
        std::count_if(req.success().begin(), req.success().end(),
                      [](const auto& op) { return op.has_request_put(); }));
  }
};

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

struct Harness {
  boost::asio::io_context io;
  runtime::ManualClock clock;
  FakeTransport* fake = nullptr;
  std::shared_ptr<EtcdRegistry> registry;

  explicit Harness(config::RegistrySpec s = spec()) {
    auto t = std::make_unique<FakeTransport>();
    t->executor = io.get_executor();
    fake = t.get();
    registry = std::make_shared<EtcdRegistry>(io.get_executor(), s, std::move(t), clock,
                                              [] { return 0.5; });
    registry->start([](const RegistryState&) {});
  }
  // Runs what is ready, including zero-delay timers.
  void settle() {
    for (int i = 0; i < 100 && io.poll() > 0; ++i) {
    }
    io.restart();
  }
  // Lets backoff timers (a few ms here) fire.
  void let_time_pass(milliseconds d = milliseconds(30)) {
    io.run_for(d);
    io.restart();
    settle();
  }
  std::set<std::string> keys() const {
    std::set<std::string> out;
    for (const auto& [k, v] : fake->kv) out.insert(k);
    return out;
  }
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
