// How resolve and watch print instances: table, json lines, addrs; checks; watch events.
#include "cli/instance_output.hpp"

#include <catch2/catch.hpp>

using namespace registrar;
using namespace registrar::cli;

namespace {

discovery::InstanceSet two() {
  discovery::Instance a;
  a.id = "a";
  a.name = "svc";
  a.address = "10.0.0.1";
  a.port = 80;
  a.tags = {"v1", "eu"};
  a.meta = {{"k", "v"}};
  discovery::Instance b = a;
  b.id = "b";
  b.address = "::1";
  b.port = 81;
  b.tags = {};
  b.meta = {};
  b.health = registry::Health::Critical;
  return {{"a", a}, {"b", b}};
}

}  // namespace

TEST_CASE("render: a table with aligned columns, json lines, addrs") {
  CHECK(render(two(), OutputFormat::Table) ==
        "ID  ADDRESS      HEALTH    TAGS   META\n"
        "a   10.0.0.1:80  passing   v1,eu  k=v\n"
        "b   [::1]:81     critical  -      -\n");
  CHECK(
      render(two(), OutputFormat::Json) ==
      R"({"id":"a","name":"svc","address":"10.0.0.1","port":80,"health":"passing","tags":["v1","eu"],"meta":{"k":"v"}})"
      "\n"
      R"({"id":"b","name":"svc","address":"::1","port":81,"health":"critical","tags":[],"meta":{}})"
      "\n");
  CHECK(render(two(), OutputFormat::Addrs) == "10.0.0.1:80\n[::1]:81\n");
  CHECK(render({}, OutputFormat::Table).empty());
  CHECK(render({}, OutputFormat::Json).empty());
}

TEST_CASE("render with checks: status and latency, addrs only the SERVING ones") {
  const CheckResults checks{{"a", {"SERVING", 3, true}}, {"b", {"NOT_SERVING", 12, false}}};
  CHECK(render(two(), OutputFormat::Table, &checks) ==
        "ID  ADDRESS      HEALTH    TAGS   META  CHECK        LATENCY\n"
        "a   10.0.0.1:80  passing   v1,eu  k=v   SERVING      3ms\n"
        "b   [::1]:81     critical  -      -     NOT_SERVING  12ms\n");
  CHECK(render(two(), OutputFormat::Addrs, &checks) == "10.0.0.1:80\n");
  const std::string json = render(two(), OutputFormat::Json, &checks);
  CHECK(json.find(R"("check":{"status":"NOT_SERVING","latency_ms":12})") != std::string::npos);
}

TEST_CASE("watch events as json lines: the whole set, or the error") {
  CHECK(render_event_json(discovery::Event::of({}), "T") == R"({"time":"T","instances":[]})");
  CHECK(render_event_json(discovery::Event::failure("down"), "T") ==
        R"({"time":"T","error":"down"})");
  const std::string line = render_event_json(discovery::Event::of(two()), "T");
  CHECK(line.find(R"("id":"a")") < line.find(R"("id":"b")"));
}
