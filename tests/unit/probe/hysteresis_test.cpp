#include "probe/hysteresis.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using registrar::probe::Hysteresis;
using Change = Hysteresis::Change;

namespace {

// One row: results fed in order ('+' ok, '-' failure) and, per result, the expected change
// ('.' none, 'H' became healthy, 'U' became unhealthy), health and streak afterwards.
struct Row {
  const char* name;
  int rise;
  int fall;
  std::string results;
  std::string changes;
  std::string healthy;  // '1' healthy, '0' unhealthy after each result
  std::vector<int> streaks;
};

Change change_of(char c) {
  switch (c) {
    case 'H':
      return Change::BecameHealthy;
    case 'U':
      return Change::BecameUnhealthy;
    default:
      return Change::None;
  }
}

}  // namespace

TEST_CASE("hysteresis starts unhealthy with no streak") {
  Hysteresis h(2, 3);
  CHECK_FALSE(h.healthy());
  CHECK(h.streak() == 0);
  CHECK(h.rise() == 2);
  CHECK(h.fall() == 3);
}

TEST_CASE("hysteresis transitions follow the rise/fall table") {
  const std::vector<Row> rows = {
      {"rise=1 fall=1: every result of the other kind flips",
       1,
       1,
       "+--++-+",
       "HU.H.UH",
       "1001101",
       {0, 0, 0, 0, 0, 0, 0}},
      {"rise=2 fall=3: exact transition points",
       2,
       3,
       "++---++",
       ".H..U.H",
       "0111001",
       {1, 0, 1, 2, 0, 1, 0}},
      {"rise=2 fall=3: one short of rise, then a failure resets",
       2,
       3,
       "+-++",
       "...H",
       "0001",
       {1, 0, 1, 0}},
      {"rise=2 fall=3: one short of fall, then an ok resets",
       2,
       3,
       "++--+---",
       ".H.....U",
       "01111110",
       {1, 0, 1, 2, 0, 1, 2, 0}},
      {"rise=3 fall=2: exact transition points", 3, 2, "+++--", "..H.U", "00110", {1, 2, 0, 1, 0}},
      {"failures while unhealthy change nothing", 2, 2, "---", "...", "000", {0, 0, 0}},
      {"oks while healthy change nothing", 1, 2, "++++", "H...", "1111", {0, 0, 0, 0}},
      {"rise/fall below 1 act as 1", 0, -5, "+-", "HU", "10", {0, 0}},
  };

  for (const Row& row : rows) {
    SECTION(row.name) {
      REQUIRE(row.results.size() == row.changes.size());
      REQUIRE(row.results.size() == row.healthy.size());
      REQUIRE(row.results.size() == row.streaks.size());
      Hysteresis h(row.rise, row.fall);
      for (std::size_t i = 0; i < row.results.size(); ++i) {
        INFO("step " << i << " result " << row.results[i]);
        CHECK(h.observe(row.results[i] == '+') == change_of(row.changes[i]));
        CHECK(h.healthy() == (row.healthy[i] == '1'));
        CHECK(h.streak() == row.streaks[i]);
      }
    }
  }
}

TEST_CASE("hysteresis: flapping that never crosses a threshold never changes state") {
  SECTION("while unhealthy, rise=3") {
    Hysteresis h(3, 2);
    for (int i = 0; i < 50; ++i) {
      // ok, ok, failure: two short-lived streaks of 2 < rise.
      CHECK(h.observe(true) == Change::None);
      CHECK(h.observe(true) == Change::None);
      CHECK(h.observe(false) == Change::None);
      CHECK_FALSE(h.healthy());
    }
  }
  SECTION("while healthy, fall=3") {
    Hysteresis h(1, 3);
    REQUIRE(h.observe(true) == Change::BecameHealthy);
    for (int i = 0; i < 50; ++i) {
      CHECK(h.observe(false) == Change::None);
      CHECK(h.observe(false) == Change::None);
      CHECK(h.observe(true) == Change::None);
      CHECK(h.healthy());
    }
  }
}

TEST_CASE("hysteresis change names") {
  CHECK(std::string(registrar::probe::to_string(Change::None)) == "none");
  CHECK(std::string(registrar::probe::to_string(Change::BecameHealthy)) == "became_healthy");
  CHECK(std::string(registrar::probe::to_string(Change::BecameUnhealthy)) == "became_unhealthy");
}
