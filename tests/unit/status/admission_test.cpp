// Admission: per-client limits, the total, and the places reserved for clients that hold none.
#include "status/admission.hpp"

#include <catch2/catch.hpp>
#include <string>

using registrar::status::Admission;
using registrar::status::AdmissionLimits;

TEST_CASE("admission: one client holds at most per_client places", "[status][admission]") {
  Admission a(AdmissionLimits{64, 8, 16});
  for (int i = 0; i < 8; ++i) CHECK(a.admit("uid:65534"));
  CHECK_FALSE(a.admit("uid:65534"));
  CHECK(a.held_by("uid:65534") == 8);
  CHECK(a.admit("uid:0"));  // everyone else still gets in
  a.release("uid:65534");
  CHECK(a.admit("uid:65534"));  // a place given back can be taken again
  CHECK(a.total() == 9);
}

TEST_CASE("admission: the reserved places only take a client's first connection",
          "[status][admission]") {
  Admission a(AdmissionLimits{10, 4, 4});
  // Clients holding what they may fill the open places (10 - 4 = 6).
  for (int i = 0; i < 3; ++i) CHECK(a.admit("ip:192.0.2.1"));
  for (int i = 0; i < 3; ++i) CHECK(a.admit("ip:192.0.2.2"));
  CHECK(a.total() == 6);
  CHECK_FALSE(a.admit("ip:192.0.2.1"));  // below its own limit, but only reserve is left
  // A newcomer, such as a health check, gets a reserved place; one each.
  CHECK(a.admit("uid:0"));
  CHECK_FALSE(a.admit("uid:0"));
  CHECK(a.admit("uid:1"));
  CHECK(a.admit("uid:2"));
  CHECK(a.admit("uid:3"));
  CHECK_FALSE(a.admit("uid:4"));  // the total
  CHECK(a.total() == 10);
}

TEST_CASE("admission: releasing what was never admitted changes nothing", "[status][admission]") {
  Admission a(AdmissionLimits{2, 1, 0});
  a.release("nobody");
  CHECK(a.total() == 0);
  CHECK(a.admit("x"));
  CHECK(a.admit("y"));
  CHECK_FALSE(a.admit("z"));
}
