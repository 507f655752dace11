// The etcd state machine's timers on the injected clock: keepalive renewals, a retry's backoff,
// the outage poll and the shutdown deadline fire when the ManualClock reaches them, and not a
// millisecond earlier, with no real waiting (drive_timers).
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "registry/etcd/etcd_registry.hpp"
#include "unit/registry/etcd/etcd_harness.hpp"

using namespace registrar;
using namespace registrar::registry;
using namespace registrar::registry::etcd;
using registrar::test::FakeTransport;
using registrar::test::one_passing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// Backoff without jitter, so that every delay is known exactly.
config::RegistrySpec exact_spec(milliseconds backoff) {
  config::RegistrySpec s;
  s.etcd.lease_ttl = seconds(3);
  s.etcd.resync_interval = milliseconds(0);
  s.backoff.initial = backoff;
  s.backoff.max = backoff;
  s.backoff.jitter = 0;
  return s;
}

// The shared harness, its timers driven by the ManualClock alone.
struct TimingHarness : registrar::test::EtcdHarness {
  explicit TimingHarness(const config::RegistrySpec& s) : EtcdHarness(s, {.drive_timers = true}) {}
};

}  // namespace

TEST_CASE("etcd timing: keepalives go every third of the granted TTL on the registry's clock") {
  TimingHarness h(exact_spec(milliseconds(100)));
  h.fake->grant(100, 3);
  h.settle();
  REQUIRE(h.fake->streams.size() == 1);
  const auto& sent = h.fake->streams[0]->sent;
  CHECK(sent.size() == 1);  // the first one at once
  h.fake->keepalive_answer(100, 3);
  h.advance(milliseconds(999));
  CHECK(sent.size() == 1);
  h.advance(milliseconds(1));  // TTL 3 s / 3
  CHECK(sent.size() == 2);
  h.fake->keepalive_answer(100, 3);
  h.advance(milliseconds(1000));
  CHECK(sent.size() == 3);
  CHECK(h.fake->grants.empty());  // answered all the while: the lease lives
}

TEST_CASE("etcd timing: keepalive silence past the TTL loses the lease at the next renewal") {
  TimingHarness h(exact_spec(milliseconds(100)));
  h.fake->grant(100, 3);
  h.settle();
  // No answer: the renewals at 1 s, 2 s and 3 s find the silence within the TTL...
  for (int i = 0; i < 3; ++i) h.advance(milliseconds(1000));
  CHECK(h.fake->grants.empty());
  // ...the one at 4 s finds it past the TTL. The lease lived a full TTL: a new grant at once.
  h.advance(milliseconds(1000));
  CHECK(h.fake->grants.size() == 1);
}

TEST_CASE("etcd timing: a failed grant is retried after exactly its backoff") {
  TimingHarness h(exact_spec(milliseconds(2000)));
  h.fake->connected = true;  // the connection stays up: the outage poll triggers nothing
  h.fake->fail_grant();
  CHECK(h.registry->state().connectivity == Connectivity::Down);
  for (int i = 0; i < 9; ++i) h.advance(kReadyPoll);
  CHECK(h.fake->ready_calls == 9);  // polled every 200 ms meanwhile, to no effect
  h.advance(milliseconds(199));
  CHECK(h.fake->grants.empty());
  h.advance(milliseconds(1));
  CHECK(h.fake->grants.size() == 1);
}

TEST_CASE("etcd timing: the connection back cuts a long backoff short at the next poll") {
  TimingHarness h(exact_spec(milliseconds(60'000)));
  h.fake->connected = false;
  h.fake->fail_grant();
  h.advance(kReadyPoll);  // the poll sees the connection down
  CHECK(h.fake->ready_calls == 1);
  h.fake->connected = true;
  h.advance(kReadyPoll - milliseconds(1));
  CHECK(h.fake->grants.empty());
  h.advance(milliseconds(1));  // the next poll sees it up: the retry goes now
  CHECK(h.fake->grants.size() == 1);
}

TEST_CASE("etcd timing: shutdown with etcd unreachable gives up at its timeout, not clean") {
  TimingHarness h(exact_spec(milliseconds(100)));
  h.fake->grant(100, 3);
  h.settle();
  h.registry->apply(one_passing("a"));
  h.fake->answer_txn();
  h.fake->revokes_to_fail = 1'000'000;  // every revoke meets the outage
  bool done = false;
  bool clean = true;
  h.registry->shutdown(milliseconds(1000), [&](bool c) {
    done = true;
    clean = c;
  });
  h.settle();
  CHECK(h.fake->revoked.size() == 1);
  for (int i = 0; i < 9; ++i) h.advance(milliseconds(100));
  CHECK(h.fake->revoked.size() == 10);  // retried every 100 ms
  h.advance(milliseconds(99));
  CHECK_FALSE(done);
  h.advance(milliseconds(1));
  CHECK(done);
  CHECK_FALSE(clean);
  const auto revokes = h.fake->revoked.size();
  for (int i = 0; i < 10; ++i) h.advance(milliseconds(100));
  CHECK(h.fake->revoked.size() == revokes);  // no retry after the deadline
}
