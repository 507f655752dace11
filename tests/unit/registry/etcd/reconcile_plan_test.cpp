#include "registry/etcd/reconcile_plan.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <set>

using namespace registrar::registry::etcd;
using Map = std::map<std::string, std::string>;

TEST_CASE("nothing to do when etcd already holds the desired set") {
  Map m{{"/a", "1"}, {"/b", "2"}};
  CHECK(plan(m, m, {}).empty());
}

TEST_CASE("new entries are put, gone entries deleted, changed entries put again") {
  Map desired{{"/a", "1"}, {"/b", "22"}, {"/c", "3"}};
  Map written{{"/a", "1"}, {"/b", "2"}, {"/d", "4"}};
  auto batches = plan(desired, written, {});
  REQUIRE(batches.size() == 1);
  CHECK(batches[0] == Batch{{Op::Kind::Delete, "/d", ""},
                            {Op::Kind::Put, "/b", "22"},
                            {Op::Kind::Put, "/c", "3"}});
}

TEST_CASE("an unchanged entry is never rewritten") {
  Map desired{{"/a", "1"}, {"/b", "2"}};
  Map written{{"/a", "1"}};
  auto batches = plan(desired, written, {});
  REQUIRE(batches.size() == 1);
  CHECK(batches[0] == Batch{{Op::Kind::Put, "/b", "2"}});
}

TEST_CASE("maybe-present keys are deleted unless desired, and desired ones are put") {
  Map desired{{"/a", "1"}};
  auto batches = plan(desired, {}, {"/a", "/old"});
  REQUIRE(batches.size() == 1);
  CHECK(batches[0] == Batch{{Op::Kind::Delete, "/old", ""}, {Op::Kind::Put, "/a", "1"}});
}

TEST_CASE("emptying the desired set deletes everything written") {
  auto batches = plan({}, Map{{"/a", "1"}, {"/b", "2"}}, {});
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].size() == 2);
  for (const auto& op : batches[0]) CHECK(op.kind == Op::Kind::Delete);
}

TEST_CASE("operations are split into transactions of at most kMaxTxnOps") {
  Map desired;
  for (int i = 0; i < 1000; ++i) desired.emplace("/k" + std::to_string(i), "v");
  auto batches = plan(desired, {}, {});
  REQUIRE(batches.size() == 8);  // 7 * 128 + 104
  std::size_t total = 0;
  for (const auto& b : batches) {
    CHECK(b.size() <= kMaxTxnOps);
    total += b.size();
  }
  CHECK(total == 1000);
  CHECK(plan(desired, {}, {}, 500).size() == 2);
}

TEST_CASE("next_batch is plan's first batch, without building the others") {
  CHECK(next_batch({}, {}, {}).empty());
  // Deterministic pseudo-random states: keys desired, written (some with another value), and
  // maybe present from an earlier lease, overlapping in every way; the batch limit varies.
  std::uint32_t seed = 12345;
  const auto next = [&seed] { return seed = seed * 1664525u + 1013904223u; };
  for (int round = 0; round < 200; ++round) {
    Map desired;
    Map written;
    std::set<std::string> maybe;
    const int keys = static_cast<int>(next() % 300);
    for (int i = 0; i < keys; ++i) {
      const std::string key = "/k" + std::to_string(next() % 400);
      switch (next() % 6) {
        case 0:
          desired[key] = "v";
          break;
        case 1:
          desired[key] = written[key] = "v";
          break;
        case 2:
          desired[key] = "new";
          written[key] = "old";
          break;
        case 3:
          written[key] = "v";
          break;
        case 4:
          maybe.insert(key);
          break;
        default:
          maybe.insert(key);
          written[key] = "v";
          break;
      }
    }
    const std::size_t max_ops = 1 + next() % 130;
    const auto all = plan(desired, written, maybe, max_ops);
    const Batch first = next_batch(desired, written, maybe, max_ops);
    if (all.empty()) {
      CHECK(first.empty());
    } else {
      CHECK(first == all.front());
    }
  }
}
