#include "config/duration.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using registrar::config::Duration;
using registrar::config::format_duration;
using registrar::config::kMaxDuration;
using registrar::config::parse_duration;

TEST_CASE("valid durations") {
  struct Row {
    const char* text;
    long long ms;
  };
  const std::vector<Row> rows{
      {"0", 0},        {"0s", 0},        {"0ms", 0},        {"1ms", 1},
      {"250ms", 250},  {"1s", 1000},     {"10s", 10000},    {"1m", 60000},
      {"2h", 7200000}, {"1m30s", 90000}, {"1s500ms", 1500}, {"1h1m1s1ms", 3661001},
      {"90s", 90000},  {"1500ms", 1500}, {"007s", 7000},    {"2562047h47m16s854ms", 9223372036854},
  };
  for (const Row& row : rows) {
    INFO(row.text);
    auto d = parse_duration(row.text);
    REQUIRE(d.has_value());
    CHECK(d->count() == row.ms);
  }
}

TEST_CASE("invalid durations, with the reason") {
  struct Row {
    const char* text;
    const char* why;
  };
  const std::vector<Row> rows{
      {"", "empty duration"},
      {"10", "missing unit (ms, s, m, h), e.g. 10s"},
      {"00", "missing unit (ms, s, m, h), e.g. 10s"},
      {"1m30", "missing unit (ms, s, m, h), e.g. 10s"},
      {"-1s", "negative durations are not allowed"},
      {"-0", "negative durations are not allowed"},
      {"1.5s", "fractions are not allowed; use a smaller unit, e.g. 1500ms instead of 1.5s"},
      {"0,5s", "fractions are not allowed; use a smaller unit, e.g. 1500ms instead of 1.5s"},
      {"5d", "unknown unit \"d\" (allowed: ms, s, m, h)"},
      {"5 s", "unknown unit \" s\" (allowed: ms, s, m, h)"},
      {"5us", "unknown unit \"us\" (allowed: ms, s, m, h)"},
      {"s", "expected a number followed by a unit (ms, s, m, h), e.g. 1500ms, 10s, 1m30s"},
      {"+5s", "expected a number followed by a unit (ms, s, m, h), e.g. 1500ms, 10s, 1m30s"},
      {"1s 2ms", "expected a number followed by a unit (ms, s, m, h), e.g. 1500ms, 10s, 1m30s"},
      {"30s1m", "units must appear once each, largest first (h, m, s, ms), e.g. 1h30m"},
      {"1s1s", "units must appear once each, largest first (h, m, s, ms), e.g. 1h30m"},
      {"2562047h47m16s855ms", "too large (the maximum is 2562047h47m16s854ms)"},
      {"99999999999999999999s", "too large (the maximum is 2562047h47m16s854ms)"},
      {"9223372036854775807h", "too large (the maximum is 2562047h47m16s854ms)"},
  };
  for (const Row& row : rows) {
    INFO(row.text);
    std::string why;
    CHECK_FALSE(parse_duration(row.text, why).has_value());
    CHECK(why == row.why);
    CHECK_FALSE(parse_duration(row.text).has_value());
  }
}

TEST_CASE("format_duration writes the shortest compound form") {
  CHECK(format_duration(Duration{0}) == "0s");
  CHECK(format_duration(Duration{1}) == "1ms");
  CHECK(format_duration(Duration{1500}) == "1s500ms");
  CHECK(format_duration(Duration{10000}) == "10s");
  CHECK(format_duration(Duration{90000}) == "1m30s");
  CHECK(format_duration(Duration{3600000}) == "1h");
  CHECK(format_duration(Duration{3661001}) == "1h1m1s1ms");
  CHECK(format_duration(Duration{-1500}) == "-1s500ms");
}

TEST_CASE("format_duration round-trips through parse_duration") {
  const std::vector<long long> samples{
      0,       1,       999,      1000,    1001,     59999,     60000,
      3599999, 3600000, 86400000, 5400500, 12345678, 1LL << 40, kMaxDuration.count()};
  for (long long ms : samples) {
    INFO(ms);
    auto back = parse_duration(format_duration(Duration{ms}));
    REQUIRE(back.has_value());
    CHECK(back->count() == ms);
  }
}
