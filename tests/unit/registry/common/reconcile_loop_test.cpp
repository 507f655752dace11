#include "registry/common/reconcile_loop.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "registry/common/retry_schedule.hpp"
#include "runtime/clock.hpp"

using namespace registrar;
using registry::common::ReconcileLoop;
using registry::common::RetrySchedule;
using namespace std::chrono_literals;

namespace {

config::BackoffSpec backoff() {
  config::BackoffSpec b;
  b.initial = 1s;
  b.max = 8s;
  b.multiplier = 2;
  b.jitter = 0;
  return b;
}

// A backend reduced to its loop: each pass sends one request while there is work left.
struct Backend {
  boost::asio::io_context io;
  runtime::ManualClock clock;
  int work = 0;    // requests still to send
  int passes = 0;  // passes that ran
  RetrySchedule retry{io.get_executor(), clock, backoff(), [] { return 0.5; },
                      [this] { loop.run(); }};
  ReconcileLoop loop{[this] {
                       ++passes;
                       if (work > 0) loop.begin();
                     },
                     retry};

  Backend() { clock.drive_timers(true); }
  // The request in flight completes; its handler runs the next pass.
  void complete() {
    loop.end();
    --work;
    loop.run();
  }
};

}  // namespace

TEST_CASE("reconcile loop: runs a pass only while nothing is in flight") {
  Backend b;
  b.work = 2;
  b.loop.run();
  CHECK(b.passes == 1);
  CHECK(b.loop.in_flight());
  b.loop.run();  // a burst of changes while the request is out: folded into the next pass
  b.loop.run();
  CHECK(b.passes == 1);
  b.complete();
  CHECK(b.passes == 2);
  b.complete();
  CHECK(b.passes == 3);
  CHECK_FALSE(b.loop.in_flight());
  CHECK(b.loop.idle());
}

TEST_CASE("reconcile loop: a waiting retry holds passes back until its backoff has passed") {
  Backend b;
  b.retry.later();  // 1 s
  b.loop.run();
  CHECK(b.passes == 0);
  CHECK_FALSE(b.loop.idle());
  b.clock.advance(999ms);
  b.io.poll();
  b.io.restart();
  CHECK(b.passes == 0);
  b.clock.advance(1ms);
  b.io.poll();
  CHECK(b.passes == 1);  // the retry ran the loop
}

TEST_CASE("reconcile loop: nothing runs once stopped, and a request in flight is forgotten") {
  Backend b;
  b.work = 1;
  b.loop.run();
  b.loop.stop();
  CHECK(b.loop.stopped());
  CHECK_FALSE(b.loop.in_flight());
  b.loop.run();
  CHECK(b.passes == 1);
}
