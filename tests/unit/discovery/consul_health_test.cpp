// The Consul reader's request targets, blocking-query index rules and answer parsing.
#include "discovery/consul_health.hpp"

#include <catch2/catch.hpp>

using namespace registrar;
using namespace registrar::discovery::consul;

TEST_CASE("health target: passing and tags, index and wait only for a blocking query") {
  discovery::Query q{"greeter", {"v2", "a b"}, true};
  CHECK(health_target(q, 0, std::chrono::seconds(30)) ==
        "/v1/health/service/greeter?passing&tag=v2&tag=a%20b");
  CHECK(health_target(q, 42, std::chrono::seconds(30)) ==
        "/v1/health/service/greeter?passing&tag=v2&tag=a%20b&index=42&wait=30s");
  discovery::Query all{"a/b", {}, false};
  CHECK(health_target(all, 0, std::chrono::seconds(30)) == "/v1/health/service/a%2Fb");
  CHECK(health_target(all, 7, std::chrono::seconds(5)) ==
        "/v1/health/service/a%2Fb?index=7&wait=5s");
}

TEST_CASE("index rules: forward is kept, backwards resets to 0, never 0 after an answer") {
  CHECK(next_index(0, "10") == 10);
  CHECK(next_index(10, "12") == 12);
  CHECK(next_index(10, "10") == 10);  // the wait ran out without a change
  CHECK(next_index(10, "3") == 0);    // went backwards: start over with a plain read
  CHECK(next_index(0, "0") == 1);     // 0 would return at once, again and again
  CHECK(next_index(0, "") == 1);      // no header
  CHECK(next_index(0, "x1") == 1);
  CHECK(next_index(5, "") == 0);  // none after a blocking query: as backwards
  CHECK(next_index(0, "18446744073709551615") == 18446744073709551615ULL);
}

TEST_CASE("health answer: address falls back to the node's, health is the worst check") {
  const std::string body = R"([
    {"Node":{"Node":"n1","Address":"10.0.0.1"},
     "Service":{"ID":"g-1","Service":"greeter","Tags":["v2"],"Address":"","Port":50051,
                "Meta":{"zone":"a","n":1}},
     "Checks":[{"Status":"passing"},{"Status":"warning"}]},
    {"Node":{"Node":"n1","Address":"10.0.0.1"},
     "Service":{"ID":"g-2","Service":"greeter","Tags":null,"Address":"10.0.0.2","Port":1,
                "Meta":null},
     "Checks":[{"Status":"passing"},{"Status":"critical"}]},
    {"Node":{"Node":"n1","Address":"10.0.0.1"},
     "Service":{"ID":"g-3","Service":"greeter","Address":"h","Port":2},
     "Checks":[{"Status":"passing"}]},
    {"Node":{"Node":"n1","Address":"10.0.0.1"},
     "Service":{"ID":"g-4","Service":"greeter","Address":"h","Port":3},
     "Checks":[{"Status":"maintenance"}]}
  ])";
  std::string why;
  auto set = parse_health_service(body, why);
  REQUIRE(set);
  REQUIRE(set->size() == 4);
  const auto& g1 = set->at("g-1");
  CHECK(g1.address == "10.0.0.1");
  CHECK(g1.port == 50051);
  CHECK(g1.name == "greeter");
  CHECK(g1.tags == std::vector<std::string>{"v2"});
  CHECK(g1.meta == std::map<std::string, std::string>{{"zone", "a"}});
  CHECK(g1.health == registry::Health::Warning);
  CHECK(set->at("g-2").health == registry::Health::Critical);
  CHECK(set->at("g-2").address == "10.0.0.2");
  CHECK(set->at("g-3").health == registry::Health::Passing);
  CHECK(set->at("g-4").health == registry::Health::Critical);
  CHECK(parse_health_service("[]", why)->empty());
}

TEST_CASE("health answer: what is not a list of service entries is refused") {
  std::string why;
  CHECK_FALSE(parse_health_service("{}", why));
  CHECK(why == "the answer is not a JSON list");
  CHECK_FALSE(parse_health_service("not json", why));
  CHECK_FALSE(parse_health_service(R"([{"Node":{}}])", why));
  CHECK_FALSE(parse_health_service(R"([{"Service":{"ID":"a","Port":-1}}])", why));
  CHECK_FALSE(parse_health_service(R"([{"Service":{"ID":"","Port":1}}])", why));
}
