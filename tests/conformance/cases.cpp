#include "conformance/cases.hpp"

#include <catch2/catch.hpp>
#include <iostream>
#include <string>
#include <thread>

#include "conformance/harness.hpp"
#include "support/wait.hpp"

namespace registrar::conformance {

namespace {

using namespace std::chrono_literals;
using registry::DesiredSet;
using registry::Health;
using registry::Registration;
using Clock = std::chrono::steady_clock;

constexpr Millis kPoll{50};
// shutdown_timeout for a registry that answers: the manifest's default.
constexpr Millis kShutdownTimeout{5000};
// shutdown_timeout with the registry down: above the backends' per-request deadlines
// (dial_timeout, request_timeout: 1 s in the suite's spec) so that the timeout, not one failed
// request, is what ends it.
constexpr Millis kDownShutdownTimeout{1500};

Registration entry(const std::string& name, const std::string& id, std::uint16_t port,
                   Health health) {
  Registration r;
  r.name = name;
  r.id = id;
  r.address = "127.0.0.1";
  r.port = port;
  r.tags = {"conformance", "v1"};
  r.meta = {{"case", id}, {"zone", "a"}};
  r.health = health;
  r.output = "conformance";  // constant: a refresh with it is no change
  return r;
}

Registration a(Health h = Health::Passing) {
  return entry("conf-alpha", "conf-a", 50001, h);
}
Registration b(Health h = Health::Passing) {
  return entry("conf-alpha", "conf-b", 50002, h);
}
Registration c(Health h = Health::Passing) {
  return entry("conf-beta", "conf-c", 50003, h);
}

DesiredSet set_of(std::initializer_list<Registration> entries) {
  DesiredSet set;
  for (const auto& r : entries) set.emplace(r.id, r);
  return set;
}

// What the backend's reader must show for `desired`.
View expected(const Backend& backend, const DesiredSet& desired) {
  View view;
  for (const auto& [id, r] : desired) {
    const bool healthy = r.health == Health::Passing;
    if (!healthy && !backend.lists_unhealthy()) continue;
    const std::vector<std::string> tags =
        backend.keeps_tags() ? r.tags : std::vector<std::string>{};
    view.emplace(id, Seen{r.name, r.address, r.port, tags, r.meta, healthy});
  }
  return view;
}

std::string describe(const std::optional<View>& view) {
  if (!view) return "(registry unreadable)";
  std::string out;
  for (const auto& [id, s] : *view) {
    out += id + " " + s.name + " " + s.address + ":" + std::to_string(s.port) + " tags";
    for (const auto& t : s.tags) out += " " + t;
    out += " meta";
    for (const auto& [k, v] : s.meta) out += " " + k + "=" + v;
    out += s.healthy ? " healthy; " : " unhealthy; ";
  }
  return out.empty() ? "(empty)" : out;
}

// Waits until the reader shows exactly `want`; returns the time it took, nullopt at `timeout`.
std::optional<Millis> wait_for_view(Backend& backend, const View& want, Millis timeout) {
  const auto since = Clock::now();
  std::optional<View> last;
  const bool ok = test::wait_until(
      [&] {
        last = backend.read();
        return last && *last == want;
      },
      timeout, kPoll);
  if (!ok) {
    UNSCOPED_INFO("registry holds: " << describe(last));
    UNSCOPED_INFO("expected:       " << describe(std::optional<View>(want)));
    return std::nullopt;
  }
  return std::chrono::duration_cast<Millis>(Clock::now() - since);
}

// Prints a measured time for the record, with the limit it is held to ("bound", "timeout").
void measured(const std::string& what, Millis ms, const std::string& limit, Millis value) {
  std::cout << "MEASURED " << what << ": " << ms.count() << " ms (" << limit << " " << value.count()
            << " ms)" << std::endl;
}

// start() and apply(desired), then wait until the registry holds it and the backend says so.
// Filling an empty registry is the work of restoring a lost one: the same bound.
void converge(RegistryHarness& h, Backend& backend, const DesiredSet& desired) {
  h.start();
  h.apply(desired);
  REQUIRE(wait_for_view(backend, expected(backend, desired), backend.state_loss_bound()));
  REQUIRE(test::wait_until([&] { return h.state().in_sync; }, backend.state_loss_bound(), kPoll));
}

// A second apply of `desired`, once in sync: waits until the view shows it and the backend has
// nothing in flight.
void reapply(RegistryHarness& h, Backend& backend, const DesiredSet& desired) {
  h.apply(desired);
  REQUIRE(wait_for_view(backend, expected(backend, desired), backend.state_loss_bound()));
  REQUIRE(test::wait_until([&] { return h.state().in_sync; }, backend.state_loss_bound(), kPoll));
}

}  // namespace

void apply_holds_exactly_the_desired_set(Backend& backend) {
  RegistryHarness h(backend.spec());
  const DesiredSet desired = set_of({a(), b(), c(Health::Critical)});
  converge(h, backend, desired);
  // And it stays so: no entry appears, goes or changes over the backend's periodic passes.
  std::this_thread::sleep_for(backend.quiet_period());
  CHECK(describe(backend.read()) == describe(expected(backend, desired)));
  const auto state = h.state();
  CHECK(state.in_sync);
  CHECK(state.connectivity == registry::Connectivity::Up);
  CHECK(state.last_error.empty());
}

void unchanged_entry_is_never_written_again(Backend& backend) {
  RegistryHarness h(backend.spec());
  const DesiredSet desired = set_of({a(), b(), c(Health::Critical)});
  converge(h, backend, desired);
  const Mark before = backend.mark();
  h.apply(desired);
  h.apply(DesiredSet(desired));  // an equal copy
  std::this_thread::sleep_for(backend.quiet_period());
  const Writes none = backend.writes_since(before);
  CHECK(none.total == 0);
  CHECK(none.per_entry.empty());

  // A new entry next to unchanged ones: only it is written.
  const Mark before_new = backend.mark();
  const Registration d = entry("conf-beta", "conf-d", 50004, Health::Passing);
  DesiredSet more = desired;
  more.emplace(d.id, d);
  reapply(h, backend, more);
  std::this_thread::sleep_for(backend.quiet_period());
  const Writes one = backend.writes_since(before_new);
  CHECK(one.total >= 1);
  CHECK(one.per_entry.size() == 1);
  CHECK(one.per_entry.count(d.id) == 1);
}

void health_change_writes_one_difference(Backend& backend) {
  RegistryHarness h(backend.spec());
  converge(h, backend, set_of({a(), b()}));
  const Mark before = backend.mark();
  reapply(h, backend, set_of({a(), b(Health::Critical)}));
  std::this_thread::sleep_for(backend.quiet_period());
  const Writes w = backend.writes_since(before);
  CHECK(w.total == 1);
  CHECK(w.per_entry == std::map<std::string, std::size_t>{{b().id, 1}});
  // And back: one more write, to the same entry.
  const Mark unhealthy = backend.mark();
  reapply(h, backend, set_of({a(), b()}));
  std::this_thread::sleep_for(backend.quiet_period());
  const Writes back = backend.writes_since(unhealthy);
  CHECK(back.total == 1);
  CHECK(back.per_entry == std::map<std::string, std::size_t>{{b().id, 1}});
}

void lost_state_is_restored_within_bound(Backend& backend) {
  RegistryHarness h(backend.spec());
  const DesiredSet desired = set_of({a(), b(), c(Health::Critical)});
  converge(h, backend, desired);
  backend.lose_state();  // returns once the registry answers again, empty
  const Millis bound = backend.state_loss_bound();
  const auto took = wait_for_view(backend, expected(backend, desired), bound);
  REQUIRE(took);
  measured("restored after registry state lost", *took, "bound", bound);
  CHECK(test::wait_until([&] { return h.state().in_sync; }, bound, kPoll));
}

void entry_removed_from_outside_is_restored(Backend& backend) {
  RegistryHarness h(backend.spec());
  const DesiredSet desired = set_of({a(), b()});
  converge(h, backend, desired);
  backend.remove_from_outside(a());
  const Millis bound = backend.outside_removal_bound();
  const auto took = wait_for_view(backend, expected(backend, desired), bound);
  REQUIRE(took);
  measured("restored after removal from outside", *took, "bound", bound);
}

void shutdown_leaves_nothing(Backend& backend) {
  RegistryHarness h(backend.spec());
  converge(h, backend, set_of({a(), b(), c(Health::Critical)}));
  const auto result = h.shutdown(kShutdownTimeout, kShutdownTimeout + kLoadSlack);
  REQUIRE(result);
  measured("shutdown, registry up", result->elapsed, "timeout", kShutdownTimeout);
  CHECK(result->clean);
  CHECK(result->elapsed.count() <= kShutdownTimeout.count());
  CHECK(backend.nothing_left());  // at once: done comes after the removal is confirmed
}

void shutdown_with_registry_down_returns_by_timeout(Backend& backend) {
  RegistryHarness h(backend.spec());
  converge(h, backend, set_of({a(), b()}));
  backend.take_down();
  const auto result = h.shutdown(kDownShutdownTimeout, kDownShutdownTimeout + kLoadSlack);
  REQUIRE(result);
  measured("shutdown, registry down", result->elapsed, "timeout", kDownShutdownTimeout);
  CHECK_FALSE(result->clean);
  // It kept trying until the timeout rather than giving up at the first failed request.
  CHECK(result->elapsed.count() >= (kDownShutdownTimeout - Millis(100)).count());
}

void apply_after_shutdown_is_ignored(Backend& backend) {
  RegistryHarness h(backend.spec());
  const DesiredSet desired = set_of({a(), b()});
  converge(h, backend, desired);
  const auto result = h.shutdown(kShutdownTimeout, kShutdownTimeout + kLoadSlack);
  REQUIRE(result);
  REQUIRE(result->clean);
  const Mark after = backend.mark();
  h.apply(set_of({a(), b(), c()}));
  std::this_thread::sleep_for(backend.quiet_period());
  CHECK(backend.writes_since(after).total == 0);
  CHECK(backend.nothing_left());
}

}  // namespace registrar::conformance
