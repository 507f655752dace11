// Issue 20, the hand-over: SIGUSR2 stops the daemon with exit 75 and every entry left on its
// lease; the next run (same owner) adopts them, so a watcher on the prefix sees no DELETE. A
// SIGTERM afterwards still removes everything. scripts/containers checks the same through the
// package's upgrade under systemd.
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "itest.hpp"
#include "support/process.hpp"

using namespace registrar::itest;

namespace {

const std::string kHandoverKey = "/services/hello/handover-1";

// manifest_yaml() with a fixed owner: each Daemon writes its manifest to a new temporary path,
// and the default owner (<hostname>:<manifest path>) would differ between the two runs.
std::string with_owner(std::string yaml, const std::string& resync_interval) {
  const std::string after = "    resync_interval: " + resync_interval + "\n";
  const auto at = yaml.find(after);
  if (at == std::string::npos) throw std::logic_error("manifest: no resync_interval line");
  yaml.insert(at + after.size(), "    owner: " + nlohmann::json("handover-test").dump() + "\n");
  return yaml;
}

}  // namespace

TEST_CASE("ops handover: SIGUSR2 exits 75 leaving the entries, and the next run adopts them",
          "[ops][handover]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.lease_ttl = "30s";  // the hand-over must finish within the old lease's remaining TTL
  m.services = {entry_for(hello, "handover-1")};
  const std::string yaml = with_owner(manifest_yaml(m), m.resync_interval);
  const Etcdctl ctl = etcd.ctl();

  Daemon first(yaml);
  DumpOnFailure dump_first(first.process());
  const auto kvs = wait_for_keys(ctl, "/services/", {kHandoverKey}, 15s);
  REQUIRE(kvs.has_value());
  const std::int64_t old_lease = kvs->front().lease;

  // A watcher on the prefix from here on: it must never see a DELETE.
  Process watcher(etcdctl_bin(),
                  {"--endpoints", etcd.endpoint(), "watch", "--prefix", "/services/"},
                  {{"ETCDCTL_API", "3"}}, "etcdctl watch");
  first.signal(SIGUSR2);
  const auto exit = first.process().wait_exit(10s);
  REQUIRE(exit.has_value());
  CHECK(exit->exited_with(75));
  CHECK(first.find_log(std::regex("SIGUSR2 received: handing over: 1 entry left registered")));
  // Still there, on the old lease, which is neither revoked nor kept alive.
  const auto left = ctl.get(kHandoverKey);
  REQUIRE(left.has_value());
  CHECK(left->lease == old_lease);
  CHECK(ctl.lease_ttl(old_lease).ttl > 0);

  Daemon second(yaml);
  DumpOnFailure dump_second(second.process());
  // Adopted: the entry moves to the new run's lease and the old lease is revoked.
  CHECK(wait_until(
      [&] {
        const auto kv = ctl.get(kHandoverKey);
        const auto leases = try_lease_list(ctl);
        return kv && leases && leases->size() == 1 && kv->lease == leases->front() &&
               kv->lease != old_lease;
      },
      10s));
  CHECK(second.find_log(std::regex("keeping 1 the manifest names")));  // adopted, not new
  std::this_thread::sleep_for(300ms);  // let the watcher print what it saw
  watcher.signal(SIGTERM);
  watcher.wait_exit(5s);
  const std::string events = watcher.stdout_text();
  INFO("watch output:\n" << events);
  CHECK(events.find("PUT") != std::string::npos);  // the watcher works: it saw the rewrite
  CHECK(events.find("DELETE") == std::string::npos);

  // SIGTERM keeps meaning "deregister".
  CHECK(second.terminate().exited_with(0));
  CHECK(ctl.get_all().empty());
}
