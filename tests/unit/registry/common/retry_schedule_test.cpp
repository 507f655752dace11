#include "registry/common/retry_schedule.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <vector>

#include "runtime/clock.hpp"

using namespace registrar;
using registry::common::RetrySchedule;
using namespace std::chrono_literals;

namespace {

// No jitter (a random draw of 0.5 sits in the middle of the jitter band), so the delays are
// exactly initial * multiplier^n, capped at max.
config::BackoffSpec settings() {
  config::BackoffSpec b;
  b.initial = 100ms;
  b.max = 400ms;
  b.multiplier = 2;
  b.jitter = 0.2;
  return b;
}

struct Harness {
  boost::asio::io_context io;
  runtime::ManualClock clock;
  std::vector<runtime::Clock::time_point> due;
  RetrySchedule retry{io.get_executor(), clock, settings(), [] { return 0.5; },
                      [this] { due.push_back(clock.now()); }};

  Harness() { clock.drive_timers(true); }
  void advance(runtime::Clock::duration d) {
    clock.advance(d);
    io.poll();
    io.restart();
  }
};

}  // namespace

TEST_CASE("retry schedule: waits the manifest's backoff, growing to its cap") {
  Harness h;
  const auto start = h.clock.now();
  for (auto expected : {100ms, 200ms, 400ms, 400ms}) {
    h.retry.later();
    CHECK(h.retry.pending());
    h.advance(expected - 1ms);
    CHECK(h.retry.pending());
    h.advance(1ms);
    CHECK_FALSE(h.retry.pending());
  }
  CHECK(h.due == std::vector<runtime::Clock::time_point>{start + 100ms, start + 300ms,
                                                         start + 700ms, start + 1100ms});
}

TEST_CASE("retry schedule: a second failure while one retry waits does not add another") {
  Harness h;
  h.retry.later();
  h.retry.later();
  h.advance(1s);
  CHECK(h.due.size() == 1);
  h.retry.later();  // the third attempt: the backoff has grown once only
  h.advance(199ms);
  CHECK(h.due.size() == 1);
  h.advance(1ms);
  CHECK(h.due.size() == 2);
}

TEST_CASE("retry schedule: reset goes back to the initial delay") {
  Harness h;
  h.retry.later();
  h.advance(100ms);
  h.retry.reset();
  h.retry.later();
  h.advance(100ms);
  CHECK(h.due.size() == 2);
}

TEST_CASE("retry schedule: cut short when the connection comes back, the retry is the caller's") {
  Harness h;
  CHECK_FALSE(h.retry.cut_short());  // nothing waits
  h.retry.later();
  CHECK(h.retry.cut_short());
  CHECK_FALSE(h.retry.pending());
  h.advance(1s);
  CHECK(h.due.empty());  // the dropped wait never fires
}

TEST_CASE("retry schedule: another backoff of the backend's paces its own failures") {
  Harness h;
  runtime::Backoff slow = h.retry.make_backoff();
  slow.next();  // 100 ms spent elsewhere: the next is 200 ms
  h.retry.later(slow);
  h.advance(199ms);
  CHECK(h.due.empty());
  h.advance(1ms);
  CHECK(h.due.size() == 1);
  CHECK(h.retry.backoff().attempts() == 0);  // the schedule's own backoff is untouched
}

TEST_CASE("retry schedule: stopped, it drops the waiting retry and schedules no other") {
  Harness h;
  h.retry.later();
  h.retry.stop();
  h.retry.later();
  CHECK_FALSE(h.retry.pending());
  h.advance(1s);
  CHECK(h.due.empty());
}

TEST_CASE("retry schedule: later_within caps the wait, and the backoff still grows behind it") {
  Harness h;
  const auto start = h.clock.now();
  h.retry.later_within(150ms);  // backoff 100 ms: under the cap
  h.advance(100ms);
  h.retry.later_within(150ms);  // backoff 200 ms: capped
  h.advance(149ms);
  CHECK(h.retry.pending());
  h.advance(1ms);
  CHECK_FALSE(h.retry.pending());
  h.retry.later();  // the backoff went on counting: 400 ms
  h.advance(400ms);
  CHECK(h.due ==
        std::vector<runtime::Clock::time_point>{start + 100ms, start + 250ms, start + 650ms});
  h.retry.later();
  h.retry.later_within(1ms);  // one retry waits already: nothing changes
  h.advance(1ms);
  CHECK(h.retry.pending());
}
