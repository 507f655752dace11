// Issue 4, fault 7: stale entries after a crash. A SIGKILLed daemon's entries stay until its
// lease expires; the next run of the same daemon (same owner) removes at once those its
// manifest no longer names, and takes over the others without a gap.
#include <signal.h>

#include <catch2/catch.hpp>

#include "resilience_itest.hpp"

using namespace registrar::itest;

namespace {

const std::string kKeep = "/services/hello/keep-1";
const std::string kGone = "/services/hello/gone-1";
const std::string kOwner = "/grpc-registrar/owners/itest-owner";

}  // namespace

TEST_CASE("fault 7: after a crash, the next run removes what its manifest no longer names",
          "[resilience][fault-7]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService keep;
  HelloService gone;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.lease_ttl = "60s";  // leftovers would otherwise stay a minute
  ManifestExtras x;
  x.owner = "itest-owner";
  x.rise = 3;  // the next run cannot have registered anything by itself within 2 intervals
  m.probe_interval = "500ms";
  m.services = {entry_for(keep, "keep-1"), entry_for(gone, "gone-1")};
  const Etcdctl ctl = etcd.ctl();
  std::int64_t old_lease = 0;
  {
    Daemon first(manifest_yaml(m, x));
    DumpOnFailure dump(first.process());
    const auto kvs = wait_for_keys(ctl, "/services/", {kKeep, kGone}, 15s);
    REQUIRE(kvs.has_value());
    old_lease = kvs->front().lease;
    // The ownership record is on the same lease, outside the service prefix.
    const auto record = ctl.get(kOwner);
    REQUIRE(record.has_value());
    CHECK(record->lease == old_lease);
    CHECK(first.kill9().killed_by(SIGKILL));
  }
  // The crash left everything behind, on a lease with most of a minute to live.
  CHECK(ctl.get_prefix("/services/").size() == 2);
  CHECK(ctl.lease_ttl(old_lease).ttl > 30);

  // The next run: gone-1 is no longer in the manifest.
  RegistryRecorder recorder(etcd.endpoint(), "/services/");
  REQUIRE(wait_until([&] { return recorder.count() >= 2; }, 5s));
  m.services = {entry_for(keep, "keep-1")};
  const auto t0 = std::chrono::steady_clock::now();
  Daemon second(manifest_yaml(m, x));
  DumpOnFailure dump(second.process());
  const auto after = wait_for_keys(ctl, "/services/", {kKeep}, 10s);
  record_ms("fault 7: restart to the unnamed entry removed (lease TTL 60s)", ms_since(t0));
  REQUIRE(after.has_value());
  // keep-1 moved to the new lease, and the old lease is revoked.
  CHECK(wait_until(
      [&] {
        const auto leases = try_lease_list(ctl);
        const auto kv = ctl.get(kKeep);
        return leases && leases->size() == 1 && kv && kv->lease == leases->front() &&
               kv->lease != old_lease;
      },
      10s));
  record_ms("fault 7: restart to keep-1 on the new lease, old lease revoked", ms_since(t0));
  CHECK(ctl.lease_ttl(old_lease).ttl == -1);
  CHECK(second.find_log(std::regex("service keep-1 starts healthy")));
  CHECK(second.find_log(std::regex("keeping 1 the manifest names, removing 1")));
  // keep-1 was never missing, not even for one read.
  const auto seen = recorder.count();
  REQUIRE(wait_until([&] { return recorder.count() >= seen + 3; }, 5s));
  recorder.stop();
  CHECK(RegistryRecorder::always_present(recorder.snapshots(), kKeep));
  // Its probes decide from here, as for any healthy service.
  keep.set_serving(false);
  CHECK(wait_for_key_state(ctl, kKeep, false, std::chrono::steady_clock::now()));
  // A clean stop leaves nothing, the ownership record included.
  CHECK(second.terminate().exited_with(0));
  CHECK(ctl.get_all().empty());
}
