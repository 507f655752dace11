#include "registry/common/shutdown_latch.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <vector>

#include "runtime/clock.hpp"

using namespace registrar;
using registry::common::ShutdownLatch;
using namespace std::chrono_literals;

namespace {

constexpr auto kTimeout = 2000ms;

struct Harness {
  boost::asio::io_context io;
  runtime::ManualClock clock;
  ShutdownLatch latch{io.get_executor(), clock};
  std::vector<bool> done;  // every call of the finish callback, with its `clean`
  bool timed_out = false;

  Harness() { clock.drive_timers(true); }
  void open() {
    latch.open(
        kTimeout, [this](bool clean) { done.push_back(clean); }, [this] { timed_out = true; });
  }
  void advance(runtime::Clock::duration d) {
    clock.advance(d);
    io.poll();
    io.restart();
  }
};

}  // namespace

TEST_CASE("shutdown latch: the last settled request finishes it, clean if every one was") {
  Harness h;
  h.open();
  h.latch.expect(2);
  h.latch.settle(true);
  CHECK(h.done.empty());
  CHECK(h.latch.active());
  h.latch.settle(true);
  CHECK(h.done == std::vector<bool>{true});
  CHECK_FALSE(h.latch.active());
  h.advance(kTimeout);  // the timeout has nothing left to do
  CHECK(h.done.size() == 1);
  CHECK_FALSE(h.timed_out);
}

TEST_CASE("shutdown latch: one unclean request makes the whole shutdown unclean") {
  Harness h;
  h.open();
  h.latch.expect(2);
  h.latch.settle(false);
  h.latch.settle(true);
  CHECK(h.done == std::vector<bool>{false});
}

TEST_CASE("shutdown latch: the timeout finishes it unclean, exactly once, after saying so") {
  Harness h;
  h.open();
  h.latch.expect(1);
  h.advance(kTimeout - 1ms);
  CHECK(h.done.empty());
  h.advance(1ms);
  CHECK(h.timed_out);
  CHECK(h.done == std::vector<bool>{false});
  h.latch.settle(true);  // a late answer
  h.latch.finish(true);
  CHECK(h.done.size() == 1);
}

TEST_CASE("shutdown latch: with nothing to do it finishes on the executor, not in the call") {
  Harness h;
  h.open();
  h.latch.finish_soon(true);
  CHECK(h.done.empty());
  h.io.poll();
  h.io.restart();
  CHECK(h.done == std::vector<bool>{true});
  h.advance(kTimeout);
  CHECK_FALSE(h.timed_out);
}

TEST_CASE("shutdown latch: retries run until it finishes, and never after") {
  Harness h;
  h.open();
  h.latch.expect(1);
  int sent = 0;
  std::function<void()> send = [&] {
    if (++sent < 3)
      h.latch.again_after(100ms, send);  // the registry is down: again
    else
      h.latch.settle(true);
  };
  send();
  h.advance(100ms);
  h.advance(100ms);
  CHECK(sent == 3);
  CHECK(h.done == std::vector<bool>{true});

  Harness late;
  late.open();
  late.latch.expect(1);
  int retried = 0;
  late.latch.again_after(100ms, [&] { ++retried; });
  late.latch.finish(false);
  late.advance(1s);
  CHECK(retried == 0);
  late.latch.again_after(100ms, [&] { ++retried; });  // finished: not even armed
  late.advance(1s);
  CHECK(retried == 0);
}

TEST_CASE("shutdown latch: destroyed before its timeout, it never calls back") {
  boost::asio::io_context io;
  runtime::ManualClock clock;
  clock.drive_timers(true);
  int calls = 0;
  {
    ShutdownLatch latch(io.get_executor(), clock);
    latch.open(kTimeout, [&](bool) { ++calls; }, {});
    latch.again_after(100ms, [&] { ++calls; });
  }
  clock.advance(kTimeout);
  io.poll();
  CHECK(calls == 0);
}
