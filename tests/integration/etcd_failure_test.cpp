// etcd failures: restarts with and without data, and a dead endpoint in the list.
#include <catch2/catch.hpp>

#include "itest.hpp"
#include "support/ports.hpp"

using namespace registrar::itest;

namespace {
using Clock = std::chrono::steady_clock;

long since_ms(Clock::time_point t0) {
  return static_cast<long>(std::chrono::duration_cast<Millis>(Clock::now() - t0).count());
}
}  // namespace

TEST_CASE("etcd failure: kill -9 and restart on the same data keeps the registration",
          "[etcd-failure]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello1;
  HelloService hello2;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(hello1, "hello-1"), entry_for(hello2, "hello-2")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  const std::vector<std::string> keys{"/services/hello/hello-1", "/services/hello/hello-2"};
  REQUIRE(wait_for_keys(ctl, "/services/", keys));

  etcd.kill9();
  const auto t0 = Clock::now();
  etcd.restart();
  record("etcd restart (same data) took", std::to_string(since_ms(t0)) + " ms");
  const auto kvs = wait_for_keys(ctl, "/services/", keys);
  REQUIRE(kvs.has_value());
  const std::int64_t lease = kvs->front().lease;
  CHECK(lease != 0);
  CHECK(kvs->back().lease == lease);
  // The daemon still holds the one lease it uses (kept alive, or re-granted): one lease only,
  // and it stays alive.
  CHECK(wait_until(
      [&] {
        const auto leases = try_lease_list(ctl);
        return leases && leases->size() == 1 && leases->front() == lease;
      },
      10s));
  CHECK(wait_until([&] { return ctl.lease_ttl(lease).ttl > 0; }, 10s));

  // The daemon is connected again: a health change still reaches etcd.
  hello2.set_serving(false);
  CHECK(wait_for_key_state(ctl, "/services/hello/hello-2", false, Clock::now()).has_value());
  CHECK(ctl.get("/services/hello/hello-1").has_value());
}

TEST_CASE("etcd failure: a wiped etcd gets every healthy key back under a new lease",
          "[etcd-failure]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello1;
  HelloService hello2;
  HelloService sick;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(hello1, "hello-1"), entry_for(hello2, "hello-2"),
                entry_for(sick, "sick-1")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  const std::vector<std::string> all{"/services/hello/hello-1", "/services/hello/hello-2",
                                     "/services/hello/sick-1"};
  const auto before = wait_for_keys(ctl, "/services/", all);
  REQUIRE(before.has_value());
  const std::int64_t old_lease = before->front().lease;
  sick.set_serving(false);
  REQUIRE(wait_for_key_state(ctl, "/services/hello/sick-1", false, Clock::now()));

  const std::vector<std::string> healthy{"/services/hello/hello-1", "/services/hello/hello-2"};
  const auto t0 = Clock::now();
  etcd.wipe_and_restart();
  const long restart_ms = since_ms(t0);
  const auto kvs = wait_for_keys(ctl, "/services/", healthy);
  record("etcd wiped: restart took", std::to_string(restart_ms) + " ms");
  record("etcd wiped: restart begin to all healthy keys back",
         std::to_string(since_ms(t0)) + " ms");
  REQUIRE(kvs.has_value());
  const std::int64_t new_lease = kvs->front().lease;
  CHECK(new_lease != 0);
  CHECK(kvs->back().lease == new_lease);
  CHECK(ctl.lease_list() == std::vector<std::int64_t>{new_lease});
  CHECK(new_lease != old_lease);
  CHECK(ctl.lease_ttl(new_lease).granted_ttl == 5);
  // The unhealthy one was not brought back.
  CHECK_FALSE(ctl.get("/services/hello/sick-1").has_value());
  CHECK(ctl.get_prefix("/services/").size() == 2);
}

TEST_CASE("etcd failure: a revoked lease (keys lost) is re-granted and the keys re-put",
          "[etcd-failure]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(hello, "hello-1")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  const auto before = wait_for_keys(ctl, "/services/", {"/services/hello/hello-1"});
  REQUIRE(before.has_value());
  const std::int64_t old_lease = before->front().lease;
  const auto t0 = Clock::now();
  ctl.lease_revoke(old_lease);  // takes the key with it
  const auto back = wait_for_value(
      [&]() -> std::optional<KeyValue> {
        try {
          auto kv = ctl.get("/services/hello/hello-1");
          if (kv && kv->lease != old_lease && kv->lease != 0) return kv;
        } catch (const std::exception&) {
        }
        return std::nullopt;
      },
      10s);
  record("lease revoked from outside to key back", std::to_string(since_ms(t0)) + " ms");
  REQUIRE(back.has_value());
  CHECK(ctl.lease_list() == std::vector<std::int64_t>{back->lease});
}

TEST_CASE("etcd failure: a dead first endpoint changes nothing visible", "[etcd-failure]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello;
  const std::uint16_t dead = free_port();
  ManifestParams m;
  m.endpoints = {"127.0.0.1:" + std::to_string(dead), etcd.endpoint()};
  m.services = {entry_for(hello, "hello-1")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  const auto t0 = Clock::now();
  const auto kvs = wait_for_keys(ctl, "/services/", {"/services/hello/hello-1"});
  record("dead first endpoint: start to key visible", std::to_string(since_ms(t0)) + " ms");
  REQUIRE(kvs.has_value());
  CHECK(kvs->front().lease != 0);
  CHECK(ctl.lease_list() == std::vector<std::int64_t>{kvs->front().lease});

  hello.set_serving(false);
  CHECK(wait_for_key_state(ctl, "/services/hello/hello-1", false, Clock::now()).has_value());
  hello.set_serving(true);
  CHECK(wait_for_key_state(ctl, "/services/hello/hello-1", true, Clock::now()).has_value());

  CHECK(daemon.terminate().exited_with(0));
  CHECK(ctl.get_all().empty());
  CHECK(ctl.lease_list().empty());
}

TEST_CASE("etcd failure: a key deleted behind the daemon's back returns within one resync",
          "[etcd-failure]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.resync_interval = "1s";
  m.services = {entry_for(hello, "hello-1")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  const auto before = wait_for_keys(ctl, "/services/", {"/services/hello/hello-1"});
  REQUIRE(before.has_value());
  const auto t0 = Clock::now();
  ctl.del("/services/hello/hello-1");  // the lease lives on: only a Range can notice
  const auto back = wait_for_key_state(ctl, "/services/hello/hello-1", true, t0);
  record_ms("key deleted from outside to key back (resync 1s)", count_ms(back));
  REQUIRE(back.has_value());
  const auto kv = ctl.get("/services/hello/hello-1");
  REQUIRE(kv.has_value());
  CHECK(kv->lease == before->front().lease);  // same lease: nothing was lost but the key
  CHECK(kv->value == before->front().value);
}

TEST_CASE("etcd failure: a stale key on the daemon's lease (a late put) is removed on resync",
          "[etcd-failure]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.resync_interval = "1s";
  m.services = {entry_for(hello, "hello-1")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  const auto before = wait_for_keys(ctl, "/services/", {"/services/hello/hello-1"});
  REQUIRE(before.has_value());
  const auto lease = before->front().lease;
  hello.set_serving(false);
  REQUIRE(wait_for_key_state(ctl, "/services/hello/hello-1", false, Clock::now()));
  // What a put that timed out and landed late looks like: our key, on our lease, while the
  // service is unhealthy.
  ctl.put("/services/hello/hello-1", before->front().value, lease);
  const auto t0 = Clock::now();
  const auto gone = wait_for_key_state(ctl, "/services/hello/hello-1", false, t0);
  record_ms("stale key on our lease to removed (resync 1s)", count_ms(gone));
  CHECK(gone.has_value());
}

TEST_CASE("etcd failure: an etcd allowing one operation per transaction still gets every key",
          "[etcd-failure]") {
  if (!have_binaries()) return;
  EtcdServer etcd(false);
  etcd.set_extra_args({"--max-txn-ops=1"});
  etcd.start();
  HelloService hello1;
  HelloService hello2;
  HelloService hello3;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  // Services may turn healthy one at a time (one op per Txn); the resync reads all three keys
  // in one Txn, which etcd refuses until the daemon splits it.
  m.resync_interval = "1s";
  m.services = {entry_for(hello1, "hello-1"), entry_for(hello2, "hello-2"),
                entry_for(hello3, "hello-3")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  CHECK(wait_for_keys(
      ctl, "/services/",
      {"/services/hello/hello-1", "/services/hello/hello-2", "/services/hello/hello-3"}));
  CHECK(daemon.wait_for_log(std::regex("fewer operations per transaction"), 10s));
  // After the split, a deleted key is still restored by the (now one-op) resync.
  ctl.del("/services/hello/hello-2");
  CHECK(wait_for_key_state(ctl, "/services/hello/hello-2", true, Clock::now()));
  // The refusal is logged once per distinct error, not once per attempt.
  const std::string log = daemon.log();
  std::size_t refusals = 0;
  for (std::size_t at = log.find("refused a request"); at != std::string::npos;
       at = log.find("refused a request", at + 1))
    ++refusals;
  CHECK(refusals <= 1);
}
