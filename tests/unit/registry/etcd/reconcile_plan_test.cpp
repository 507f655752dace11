#include "registry/etcd/reconcile_plan.hpp"

#include <catch2/catch.hpp>

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
