// What the etcd backend reports to its RegistryObserver (metrics): each request by kind with its
// outcome and latency (on the ManualClock), keepalive round trips and lease re-grants.
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "registry/etcd/etcd_registry.hpp"
#include "unit/registry/etcd/etcd_harness.hpp"
#include "unit/registry/recording_observer.hpp"

using namespace registrar;
using namespace registrar::registry;
using namespace registrar::registry::etcd;
using registrar::test::FakeTransport;
using registrar::test::one_passing;
using registrar::test::RecordingObserver;
using std::chrono::milliseconds;
using Strings = std::vector<std::string>;

namespace {

config::RegistrySpec metrics_spec() {
  config::RegistrySpec s;
  s.etcd.lease_ttl = std::chrono::seconds(10);
  s.etcd.resync_interval = milliseconds(0);
  s.backoff.initial = milliseconds(1);
  s.backoff.max = milliseconds(5);
  return s;
}

struct ObserverHolder {
  RecordingObserver observer;
};

// The shared harness, reporting to a RecordingObserver (constructed first: a base before it).
struct MetricsHarness : ObserverHolder, registrar::test::EtcdHarness {
  MetricsHarness() : EtcdHarness(metrics_spec(), {.observer = &observer}) {}
};

}  // namespace

TEST_CASE("etcd metrics: a grant and a txn are reported with their outcome and latency") {
  MetricsHarness h;
  h.registry->apply(one_passing("a"));
  h.clock.advance(milliseconds(3));
  h.fake->grant(100);
  REQUIRE(h.observer.kinds() == Strings{"grant"});
  CHECK(h.observer.requests[0].latency == milliseconds(3));
  CHECK(h.observer.regrants == 0);  // the first lease is no re-grant

  REQUIRE(h.fake->txns.size() == 1);
  h.clock.advance(milliseconds(2));
  h.fake->answer_txn();
  REQUIRE(h.observer.kinds() == Strings{"grant", "txn"});
  CHECK(h.observer.requests[1].latency == milliseconds(2));

  // A txn that fails counts as an error of its kind.
  h.registry->apply(one_passing("bb"));
  REQUIRE(h.fake->txns.size() == 1);
  h.fake->answer_txn(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused"), false);
  CHECK(h.observer.kinds() == Strings{"grant", "txn", "txn!"});
}

TEST_CASE("etcd metrics: a keepalive round trip, and a broken keepalive stream is an error") {
  MetricsHarness h;
  h.fake->grant(100);
  h.settle();  // the keepalive stream opens, the first keepalive goes out
  REQUIRE(h.fake->streams.size() == 1);
  REQUIRE(h.fake->streams[0]->sent == std::vector<std::int64_t>{100});
  CHECK(h.observer.keepalives.empty());  // not answered yet
  h.clock.advance(milliseconds(4));
  h.fake->keepalive_answer(100, 10);
  REQUIRE(h.observer.keepalives.size() == 1);
  CHECK(h.observer.keepalives[0] == milliseconds(4));
  h.fake->keepalive_answer(100, 10);  // an answer nothing is waiting for: no second sample
  CHECK(h.observer.keepalives.size() == 1);

  h.fake->streams[0]->on_closed(grpc::Status(grpc::StatusCode::UNAVAILABLE, "gone"));
  CHECK(h.observer.kinds() == Strings{"grant", "keepalive_stream!"});
  CHECK(h.observer.requests.back().latency == std::chrono::nanoseconds(0));
}

TEST_CASE("etcd metrics: a lost lease granted again counts one re-grant") {
  MetricsHarness h;
  h.fake->grant(100);
  h.settle();
  h.registry->apply(one_passing("a"));
  h.fake->answer_txn();
  REQUIRE(h.fake->streams.size() == 1);
  CHECK(h.observer.regrants == 0);

  h.fake->leases.erase(100);
  h.fake->keepalive_answer(100, 0);  // etcd no longer has the lease
  CHECK(h.observer.regrants == 0);   // lost, not granted again yet
  for (int i = 0; i < 10 && h.fake->grants.empty(); ++i) h.let_time_pass();
  REQUIRE(h.fake->grants.size() == 1);
  h.fake->grant(200);
  CHECK(h.observer.regrants == 1);
  // The keys go back under the new lease, and the old lease is revoked: both reported.
  for (int i = 0; i < 5 && !h.fake->txns.empty(); ++i) {
    h.fake->answer_txn();
    h.settle();
  }
  const auto kinds = h.observer.kinds();
  CHECK(std::count(kinds.begin(), kinds.end(), "grant") == 2);
  CHECK(std::count(kinds.begin(), kinds.end(), "txn") >= 2);
  CHECK(std::count(kinds.begin(), kinds.end(), "revoke") == 1);  // lease 100, already gone
  CHECK(std::count_if(kinds.begin(), kinds.end(),
                      [](const std::string& k) { return k.back() == '!'; }) == 0);
  CHECK(h.observer.regrants == 1);
}

TEST_CASE("etcd metrics: shutdown reports the revoke of our lease") {
  MetricsHarness h;
  h.fake->grant(100);
  h.settle();
  bool done = false;
  h.registry->shutdown(milliseconds(500), [&](bool) { done = true; });
  for (int i = 0; i < 10 && !done; ++i) h.let_time_pass(milliseconds(5));
  REQUIRE(done);
  CHECK(h.observer.kinds() == Strings{"grant", "revoke"});
}
