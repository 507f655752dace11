#include "runtime/timer.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <memory>
#include <vector>

using registrar::runtime::ManualClock;
using registrar::runtime::SteadyClock;
using registrar::runtime::Timer;
using namespace std::chrono_literals;

TEST_CASE("a timer on the steady clock fires once its delay has passed") {
  boost::asio::io_context io;
  SteadyClock clock;
  Timer timer(io.get_executor(), clock);
  int fired = 0;
  const auto start = clock.now();
  timer.arm_after(20ms, [&] { ++fired; });
  CHECK(timer.armed());
  io.run_for(5s);  // returns once nothing is left to wait for
  CHECK(fired == 1);
  CHECK(clock.now() - start >= 20ms);
  CHECK_FALSE(timer.armed());
}

TEST_CASE("an expiry already queued does nothing once its timer is cancelled") {
  // Both timers expire in the same pass of the event loop, so B's completion is queued by the
  // time A's callback runs; a bare asio timer would still run it.
  boost::asio::io_context io;
  SteadyClock clock;
  Timer a(io.get_executor(), clock);
  Timer b(io.get_executor(), clock);
  std::vector<char> order;
  const auto at = clock.now() + 10ms;
  a.arm_at(at, [&] {
    order.push_back('a');
    b.cancel();
  });
  b.arm_at(at, [&] { order.push_back('b'); });
  io.run_for(5s);
  CHECK(order == std::vector<char>{'a'});
}

TEST_CASE("re-arming replaces the pending expiry, even one already queued") {
  boost::asio::io_context io;
  ManualClock clock;
  clock.drive_timers(true);
  Timer timer(io.get_executor(), clock);
  std::vector<int> fired;
  timer.arm_after(1s, [&] { fired.push_back(1); });
  clock.advance(1s);  // posted onto the executor, not yet run
  timer.arm_after(1s, [&] { fired.push_back(2); });
  io.poll();
  io.restart();
  CHECK(fired.empty());
  clock.advance(1s);
  io.poll();
  CHECK(fired == std::vector<int>{2});
}

TEST_CASE("a destroyed timer never runs its callback") {
  boost::asio::io_context io;
  ManualClock clock;
  clock.drive_timers(true);
  bool fired = false;
  {
    Timer timer(io.get_executor(), clock);
    timer.arm_after(1s, [&] { fired = true; });
    clock.advance(2s);
  }
  io.poll();
  CHECK_FALSE(fired);
}

TEST_CASE("a driven manual clock fires timers in expiry order, only when advanced past them") {
  boost::asio::io_context io;
  ManualClock clock;
  clock.drive_timers(true);
  Timer late(io.get_executor(), clock);
  Timer early(io.get_executor(), clock);
  std::vector<char> order;
  late.arm_after(3s, [&] { order.push_back('L'); });
  early.arm_after(1s, [&] { order.push_back('E'); });
  REQUIRE(clock.next_expiry() == clock.now() + 1s);
  CHECK(early.expiry() == clock.now() + 1s);
  clock.advance(999ms);
  io.poll();
  io.restart();
  CHECK(order.empty());
  clock.advance(5s);  // both due: the earlier runs first
  io.poll();
  CHECK(order == std::vector<char>{'E', 'L'});
  CHECK_FALSE(clock.next_expiry());
}

TEST_CASE("a callback may re-arm its own timer") {
  boost::asio::io_context io;
  ManualClock clock;
  clock.drive_timers(true);
  Timer timer(io.get_executor(), clock);
  int ticks = 0;
  std::function<void()> tick = [&] {
    if (++ticks < 3) timer.arm_after(1s, tick);
  };
  timer.arm_after(1s, tick);
  for (int i = 0; i < 5; ++i) {
    clock.advance(1s);
    io.poll();
    io.restart();
  }
  CHECK(ticks == 3);
  CHECK_FALSE(timer.armed());
}

TEST_CASE("a manual clock that does not drive timers lets them wait real time") {
  boost::asio::io_context io;
  ManualClock clock;
  Timer timer(io.get_executor(), clock);
  bool fired = false;
  timer.arm_after(10ms, [&] { fired = true; });
  io.run_for(5s);
  CHECK(fired);
}

TEST_CASE("a driven expiry already posted does nothing once its timer is cancelled") {
  // Both expiries are posted onto the executor by one advance(); A's callback runs first and
  // cancels B, whose completion is already queued.
  boost::asio::io_context io;
  ManualClock clock;
  clock.drive_timers(true);
  Timer a(io.get_executor(), clock);
  Timer b(io.get_executor(), clock);
  std::vector<char> order;
  a.arm_after(1s, [&] {
    order.push_back('a');
    b.cancel();
  });
  b.arm_after(1s, [&] { order.push_back('b'); });
  clock.advance(1s);
  io.poll();
  CHECK(order == std::vector<char>{'a'});
}
