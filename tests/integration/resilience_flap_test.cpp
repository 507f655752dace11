// Issue 4, fault 4: a flapping service causes no registry writes beyond what rise/fall allow.
#include <catch2/catch.hpp>

#include "resilience_itest.hpp"

using namespace registrar::itest;

namespace {

// Flips `hello` `flips` times, alternating NOT_SERVING / SERVING, each flip once the service
// has logged the previous one (so that the prober sees every change, strictly alternating).
// Ends SERVING.
void flap(HelloService& hello, int flips) {
  static const std::regex signal_line("SIGUSR[12]: every name");
  std::size_t done = count_lines(hello.process().stderr_text(), signal_line);
  for (int i = 0; i < flips; ++i) {
    hello.set_serving(i % 2 == 1);
    ++done;
    REQUIRE(wait_until(
        [&] { return count_lines(hello.process().stderr_text(), signal_line) >= done; }, 5s, 2ms));
  }
}

}  // namespace

TEST_CASE("fault 4: a service flapping faster than rise/fall allow causes no registry write",
          "[resilience][fault-4]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService steady;   // rise 3 / fall 3: the flapping never completes a run of three
  HelloService twitchy;  // rise 1 / fall 1: every change is a crossing
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  // Repeats (and their liveness Checks) come only after an interval without a change: the
  // flips below come far faster, so every result alternates.
  m.probe_interval = "1s";
  m.services = {entry_for(steady, "steady-1"), entry_for(twitchy, "twitchy-1")};
  ManifestExtras x;
  x.thresholds = {{"steady-1", {3, 3}}};
  Daemon daemon(manifest_yaml(m, x));
  DumpOnFailure dump(daemon.process());
  const Etcdctl ctl = etcd.ctl();
  const auto before =
      wait_for_keys(ctl, "/services/", {"/services/hello/steady-1", "/services/hello/twitchy-1"});
  REQUIRE(before.has_value());
  const KeyValue steady_before = before->at(0);
  REQUIRE(steady_before.key == "/services/hello/steady-1");

  // Phase 1: the rise-3/fall-3 service flaps 60 times. No crossing, so no write at all.
  const std::int64_t rev0 = ctl.revision();
  const std::size_t log0 = daemon.log_size();
  const auto t0 = std::chrono::steady_clock::now();
  flap(steady, 60);
  record_ms("fault 4: 60 flips took", ms_since(t0));
  CHECK(ctl.revision() == rev0);
  const auto steady_after = ctl.get("/services/hello/steady-1");
  REQUIRE(steady_after.has_value());
  // Never deleted and re-created, never rewritten.
  CHECK(steady_after->create_revision == steady_before.create_revision);
  CHECK(steady_after->mod_revision == steady_before.mod_revision);
  CHECK(steady_after->lease == steady_before.lease);
  CHECK_FALSE(daemon.find_log(std::regex("service steady-1 is"), log0));
  // The daemon was following all along: a change that lasts (three results: the message and
  // two repeats) is one crossing, and exactly one write.
  steady.set_serving(false);
  REQUIRE(wait_for_key_state(ctl, "/services/hello/steady-1", false,
                             std::chrono::steady_clock::now(), 10s));
  CHECK(ctl.revision() == rev0 + 1);

  // Phase 2: the rise-1/fall-1 service flaps 20 times, each change a crossing: at most one
  // write per crossing (changes arriving during a write are folded into the next Txn), and it
  // ends registered.
  const std::int64_t rev1 = ctl.revision();
  flap(twitchy, 20);
  const auto quiet = wait_for_quiet(ctl, 1500ms);
  REQUIRE(quiet.has_value());
  CHECK(ctl.get("/services/hello/twitchy-1").has_value());
  const std::int64_t writes = *quiet - rev1;
  record("fault 4: rise 1/fall 1, 20 flips (20 crossings at most)",
         std::to_string(writes) + " etcd writes");
  CHECK(writes >= 1);
  CHECK(writes <= 20);
  // The other one was not touched meanwhile.
  CHECK_FALSE(ctl.get("/services/hello/steady-1").has_value());
  CHECK(ctl.revision() == *quiet);
}
