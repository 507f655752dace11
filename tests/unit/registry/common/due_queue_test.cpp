// The kit's due-time queue: the earliest due key first, one due time per key, ties in key order.
#include "registry/common/due_queue.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace registrar;
using registry::common::DueQueue;
using namespace std::chrono_literals;

TEST_CASE("due queue: the earliest first, one due time per key, ties in key order") {
  DueQueue<std::string> q;
  const runtime::Clock::time_point t0{};
  CHECK_FALSE(q.earliest());
  q.schedule("b", t0 + 20ms);
  q.schedule("a", t0 + 20ms);
  q.schedule("c", t0 + 10ms);
  REQUIRE(q.size() == 3);
  CHECK(*q.earliest() == std::pair{t0 + 10ms, std::string("c")});
  q.schedule("c", t0 + 30ms);  // rescheduled, not added
  CHECK(q.size() == 3);
  CHECK(*q.earliest() == std::pair{t0 + 20ms, std::string("a")});
  CHECK(*q.due("c") == t0 + 30ms);
  q.schedule("a", t0 + 20ms);  // the same time again: no change
  q.remove("a");
  CHECK(*q.earliest() == std::pair{t0 + 20ms, std::string("b")});
  q.remove("a");  // absent: nothing happens
  q.remove("b");
  CHECK(*q.earliest() == std::pair{t0 + 30ms, std::string("c")});
  CHECK_FALSE(q.due("b"));
  q.schedule("d", t0 + 40ms);
  CHECK(*q.first_from(t0 + 21ms) == std::pair{t0 + 30ms, std::string("c")});
  CHECK(*q.first_from(t0 + 31ms) == std::pair{t0 + 40ms, std::string("d")});
  CHECK_FALSE(q.first_from(t0 + 41ms));
  q.clear();
  CHECK(q.empty());
  CHECK_FALSE(q.earliest());
}

TEST_CASE("due queue: many keys, drained in time order") {
  DueQueue<int> q;
  const runtime::Clock::time_point t0{};
  for (int i = 0; i < 1000; ++i) q.schedule(i, t0 + std::chrono::milliseconds((i * 7919) % 1000));
  for (int i = 0; i < 1000; i += 2) q.schedule(i, t0 + 5s);  // half of them moved to the end
  auto last = t0;
  std::size_t n = 0;
  while (auto e = q.earliest()) {
    CHECK(e->first >= last);
    last = e->first;
    q.remove(e->second);
    ++n;
  }
  CHECK(n == 1000);
  CHECK(last == t0 + 5s);
}
