#include "runtime/backoff.hpp"

#include <catch2/catch.hpp>

using registrar::runtime::Backoff;
using ms = std::chrono::milliseconds;

TEST_CASE("backoff grows by the multiplier and stops at the cap") {
  Backoff b(ms{1000}, ms{30000}, 1.6, 0.0, [] { return 0.5; });
  CHECK(b.next() == ms{1000});
  CHECK(b.next() == ms{1600});
  CHECK(b.next() == ms{2560});
  for (int i = 0; i < 20; ++i) b.next();
  CHECK(b.next() == ms{30000});
  CHECK(b.next() == ms{30000});
}

TEST_CASE("backoff jitter stays within the configured fraction") {
  double r = 0.0;
  Backoff low(ms{1000}, ms{30000}, 2.0, 0.2, [&] { return r; });
  CHECK(low.next() == ms{800});  // random 0 -> -20%
  r = 0.999999;
  Backoff high(ms{1000}, ms{30000}, 2.0, 0.2, [&] { return r; });
  CHECK(high.next() == ms{1200});  // random ~1 -> +20%
}

TEST_CASE("backoff reset returns to the initial delay") {
  Backoff b(ms{100}, ms{1000}, 2.0, 0.0, [] { return 0.5; });
  b.next();
  b.next();
  CHECK(b.attempts() == 2);
  b.reset();
  CHECK(b.next() == ms{100});
}

TEST_CASE("default random source stays within 0 (included) and 1 (excluded)") {
  auto r = registrar::runtime::default_random();
  for (int i = 0; i < 1000; ++i) {
    double v = r();
    REQUIRE(v >= 0.0);
    REQUIRE(v < 1.0);
  }
}
