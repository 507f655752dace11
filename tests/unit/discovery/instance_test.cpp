// What a query selects, and which events are news to a watcher.
#include "discovery/instance.hpp"

#include <catch2/catch.hpp>

using namespace registrar;
using namespace registrar::discovery;

namespace {

Instance make(const std::string& id, registry::Health health, std::vector<std::string> tags = {}) {
  Instance i;
  i.id = id;
  i.name = "svc";
  i.address = "127.0.0.1";
  i.port = 1;
  i.health = health;
  i.tags = std::move(tags);
  return i;
}

}  // namespace

TEST_CASE("select: healthy only, and every tag, in any letter case") {
  InstanceSet set{{"a", make("a", registry::Health::Passing, {"V2", "eu"})},
                  {"b", make("b", registry::Health::Critical, {"v2"})},
                  {"c", make("c", registry::Health::Passing)}};
  CHECK(select(set, {"svc", {}, true}).size() == 2);
  CHECK(select(set, {"svc", {}, false}).size() == 3);
  auto v2 = select(set, {"svc", {"v2"}, false});
  CHECK(v2.size() == 2);
  CHECK(v2.count("c") == 0);
  auto both = select(set, {"svc", {"v2", "EU"}, true});
  REQUIRE(both.size() == 1);
  CHECK(both.count("a") == 1);
}

TEST_CASE("change filter: a set is news once, an outage once, the same set after it never") {
  ChangeFilter f;
  InstanceSet one{{"a", make("a", registry::Health::Passing)}};
  CHECK(f.news(Event::of({})));  // the first set, even empty, is the truth at start
  CHECK_FALSE(f.news(Event::of({})));
  CHECK(f.news(Event::of(one)));
  CHECK_FALSE(f.news(Event::of(one)));
  CHECK(f.news(Event::failure("etcd down")));
  CHECK_FALSE(f.news(Event::failure("etcd down")));
  CHECK_FALSE(f.news(Event::failure("another reason, same outage")));
  CHECK_FALSE(f.news(Event::of(one)));  // read again after the outage: unchanged
  CHECK(f.news(Event::failure("down again")));
  CHECK(f.news(Event::of({})));
}
