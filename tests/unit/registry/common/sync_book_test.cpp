// The kit's sync book: registered ids and their count kept in step per entry, "all synced" from
// the entries recorded, and a publish that reports a change only when something published moved.
#include "registry/common/sync_book.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>

using namespace registrar;
using registry::RegistryState;
using registry::common::SyncBook;

TEST_CASE("sync book: registered ids in step with each record, all synced once every entry is") {
  RegistryState state;
  SyncBook book(state);
  CHECK(book.all_synced());
  book.record("a", false, false);  // being registered
  book.record("b", true, true);
  CHECK(state.registered_ids == std::set<std::string>{"b"});
  CHECK(state.registered == 1);
  CHECK_FALSE(book.all_synced());
  book.record("a", true, true);
  CHECK(state.registered_ids == std::set<std::string>{"a", "b"});
  CHECK(state.registered == 2);
  CHECK(book.all_synced());
  book.record("b", true, false);  // its registration is being rewritten: still held
  CHECK(state.registered == 2);
  CHECK_FALSE(book.all_synced());
  book.forget("b");  // gone: neither held nor waited for
  CHECK(state.registered_ids == std::set<std::string>{"a"});
  CHECK(state.registered == 1);
  CHECK(book.all_synced());
  book.forget("nothing");  // unknown: no change
  CHECK(state.registered == 1);
}

TEST_CASE("sync book: publish reports a change of the ids or of in_sync, once") {
  RegistryState state;
  SyncBook book(state);
  CHECK_FALSE(book.publish(false));  // nothing moved: in_sync was already false
  book.record("a", true, true);
  CHECK(book.publish(true));
  CHECK(state.in_sync);
  CHECK_FALSE(book.publish(true));  // the same again: no callback
  book.record("a", true, true);     // recorded again unchanged (a renewal)
  CHECK_FALSE(book.publish(true));
  book.record("a", true, false);  // unsynced, still held: the ids did not move
  CHECK(book.publish(false));     // in_sync did
  CHECK_FALSE(state.in_sync);
  book.record("b", true, false);
  CHECK(book.publish(false));  // the ids moved, in_sync did not
}

TEST_CASE("sync book: a shutdown recounts the ids from the entries and is not in sync") {
  struct Entry {
    bool registered;
  };
  RegistryState state;
  SyncBook book(state);
  book.record("a", true, true);
  book.record("b", true, true);
  CHECK(book.publish(true));
  // The shutdown removed a without recording it; b's removal was refused.
  const std::map<std::string, Entry> entries{{"a", {false}}, {"b", {true}}};
  book.recount(entries, [](const Entry& e) { return e.registered; });
  CHECK(state.registered_ids == std::set<std::string>{"b"});
  CHECK(state.registered == 1);
  CHECK_FALSE(state.in_sync);
  CHECK(book.all_synced());
  CHECK_FALSE(book.publish(false));
}
