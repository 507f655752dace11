#include "registry/common/reconnect_watch.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "runtime/clock.hpp"

using namespace registrar;
using registry::common::ReconnectWatch;
using namespace std::chrono_literals;

namespace {

constexpr auto kEvery = 200ms;

struct Harness {
  boost::asio::io_context io;
  runtime::ManualClock clock;
  bool ready = false;
  bool needed = true;
  int back = 0;
  ReconnectWatch watch{io.get_executor(), clock, kEvery,
                       ReconnectWatch::Hooks{[this] { return ready; }, [this] { return needed; },
                                             [this] { ++back; }}};

  Harness() { clock.drive_timers(true); }
  void polls(int n) {
    for (int i = 0; i < n; ++i) {
      clock.advance(kEvery);
      io.poll();
      io.restart();
    }
  }
};

}  // namespace

TEST_CASE("reconnect watch: calls back at the first poll that finds the connection up again") {
  Harness h;
  h.watch.start();
  h.polls(3);  // down
  CHECK(h.back == 0);
  CHECK(h.watch.watching());
  h.ready = true;
  h.polls(1);
  CHECK(h.back == 1);
  CHECK_FALSE(h.watch.watching());  // done until started again
  h.polls(3);
  CHECK(h.back == 1);
}

TEST_CASE("reconnect watch: a connection never seen down triggers nothing, polling goes on") {
  // Requests fail while the connection stays up (no leader, say): the backoff paces those.
  Harness h;
  h.ready = true;
  h.watch.start();
  h.polls(5);
  CHECK(h.back == 0);
  CHECK(h.watch.watching());
  h.ready = false;  // it does go down, then up: that is a reconnection
  h.polls(1);
  h.ready = true;
  h.polls(1);
  CHECK(h.back == 1);
}

TEST_CASE("reconnect watch: polling ends once nothing needs the connection") {
  Harness h;
  h.watch.start();
  h.polls(1);
  h.needed = false;
  h.polls(1);
  CHECK_FALSE(h.watch.watching());
  h.ready = true;
  h.polls(2);
  CHECK(h.back == 0);
}

TEST_CASE("reconnect watch: starting twice polls once, and once stopped it never calls back") {
  Harness h;
  h.watch.start();
  h.watch.start();
  REQUIRE(h.clock.next_expiry() == h.clock.now() + kEvery);
  h.polls(1);
  h.watch.stop();
  h.ready = true;
  h.watch.start();  // stopped for good
  h.polls(3);
  CHECK(h.back == 0);
  CHECK_FALSE(h.watch.watching());
}
