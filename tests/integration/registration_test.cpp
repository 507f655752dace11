// Registration: the exact keys and values of each format, and the single shared lease.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "itest.hpp"

using namespace registrar::itest;
using nlohmann::json;

namespace {

// One hello-service registered as hello/hello-1 with tags [a] and meta {k: v}, in `format`.
// Returns the single key/value the daemon wrote, after checking that it is the only key in etcd
// and that it carries the daemon's lease.
void check_single_registration(
    const std::string& format, const std::string& expected_key,
    const std::function<void(const std::string&, std::uint16_t)>& check_value) {
  EtcdServer etcd;
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.format = format;
  ServiceEntry s = entry_for(hello, "hello-1");
  s.tags = {"a"};
  s.meta = {{"k", "v"}};
  m.services = {s};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const std::string key =
      std::regex_replace(expected_key, std::regex("PORT"), std::to_string(hello.port()));
  const Etcdctl ctl = etcd.ctl();
  const auto kvs = wait_for_keys(ctl, key, {key});
  INFO("etcd holds: " << [&] {
    std::string all;
    for (const auto& kv : try_get_prefix(ctl, "").value_or(std::vector<KeyValue>{}))
      all += kv.key + "=" + kv.value + " ";
    return all;
  }());
  REQUIRE(kvs.has_value());
  REQUIRE(kvs->size() == 1);
  const KeyValue& kv = kvs->front();
  CHECK(kv.key == key);
  CHECK(kv.lease != 0);
  CHECK(ctl.lease_list() == std::vector<std::int64_t>{kv.lease});
  INFO("value: " << kv.value);
  check_value(kv.value, hello.port());
  CHECK(daemon.running());
}

}  // namespace

TEST_CASE("registration: json format writes <prefix>/<name>/<id> with the full JSON value",
          "[registration]") {
  if (!have_binaries()) return;
  check_single_registration("json", "/services/hello/hello-1",
                            [](const std::string& value, std::uint16_t port) {
                              const json v = json::parse(value);
                              const json expected = {{"name", "hello"},
                                                     {"id", "hello-1"},
                                                     {"address", "127.0.0.1"},
                                                     {"port", port},
                                                     {"tags", json::array({"a"})},
                                                     {"meta", {{"k", "v"}}}};
                              CHECK(v == expected);
                              CHECK(v.at("port").is_number_integer());
                            });
}

TEST_CASE("registration: gokit format writes <prefix>/<name>/<host:port> = <host:port>",
          "[registration]") {
  if (!have_binaries()) return;
  check_single_registration("gokit", "/services/hello/127.0.0.1:PORT",
                            [](const std::string& value, std::uint16_t port) {
                              CHECK(value == "127.0.0.1:" + std::to_string(port));
                            });
}

TEST_CASE("registration: grpc-go format writes <name>/<host:port> = {Op:0, Addr, Metadata}",
          "[registration]") {
  if (!have_binaries()) return;
  check_single_registration("grpc-go", "hello/127.0.0.1:PORT",
                            [](const std::string& value, std::uint16_t port) {
                              const json v = json::parse(value);
                              REQUIRE(v.is_object());
                              CHECK(v.at("Op") == 0);
                              CHECK(v.at("Addr") == "127.0.0.1:" + std::to_string(port));
                              // Always null, even with meta: gRPC-Go's round_robin panics on an
                              // object there (tests/interop/README.md).
                              REQUIRE(v.contains("Metadata"));
                              CHECK(v.at("Metadata").is_null());
                              // etcd's resolver dials Addr; anything else is ignored.
                              for (const auto& [k, unused] : v.items()) {
                                (void)unused;
                                CHECK((k == "Op" || k == "Addr" || k == "Metadata"));
                              }
                            });
}

TEST_CASE("registration: two services share one nonzero lease, the only lease in etcd",
          "[registration][lease]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello1;
  HelloService hello2;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.lease_ttl = "4s";
  m.services = {entry_for(hello1, "hello-1"), entry_for(hello2, "hello-2")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  const auto kvs =
      wait_for_keys(ctl, "/services/", {"/services/hello/hello-1", "/services/hello/hello-2"});
  REQUIRE(kvs.has_value());
  const std::int64_t lease = kvs->at(0).lease;
  CHECK(lease != 0);
  CHECK(kvs->at(1).lease == lease);
  CHECK(ctl.lease_list() == std::vector<std::int64_t>{lease});
  const LeaseTtl ttl = ctl.lease_ttl(lease);
  CHECK(ttl.granted_ttl == 4);
  CHECK(ttl.ttl > 0);
  auto keys = ttl.keys;
  std::sort(keys.begin(), keys.end());
  // Besides the entries, the lease holds the daemon's ownership record (docs/operations.md).
  REQUIRE(keys.size() == 3);
  CHECK(keys.front().rfind("/grpc-registrar/owners/", 0) == 0);
  keys.erase(keys.begin());
  CHECK(keys == std::vector<std::string>{"/services/hello/hello-1", "/services/hello/hello-2"});
  CHECK(ctl.get_all().size() == 3);
}

TEST_CASE("registration: the lease is kept alive past its TTL", "[registration][lease]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.lease_ttl = "2s";
  m.services = {entry_for(hello, "hello-1")};
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  const Etcdctl ctl = etcd.ctl();
  const auto kvs = wait_for_keys(ctl, "/services/", {"/services/hello/hello-1"});
  REQUIRE(kvs.has_value());
  const std::int64_t lease = kvs->front().lease;
  // Unrenewed, a 2 s lease is gone 2 s after its last keepalive. Watch the key and the lease
  // for 2.5 TTLs: the wait ends early, as a failure, the moment either disappears.
  const auto t0 = std::chrono::steady_clock::now();
  bool lost = false;
  std::int64_t min_ttl = 2;
  wait_until(
      [&] {
        const auto kv = ctl.get("/services/hello/hello-1");
        const std::int64_t ttl = ctl.lease_ttl(lease).ttl;
        // -1: gone. etcd rounds down, so 0 is a live lease with under 1 s left (a keepalive a
        // little late on a loaded machine), not a lost one.
        lost = !kv || kv->lease != lease || ttl < 0;
        min_ttl = std::min(min_ttl, ttl);
        return lost || std::chrono::steady_clock::now() - t0 >= 5s;
      },
      10s, 100ms);
  record("lowest remaining TTL seen over 5 s of a 2 s lease", std::to_string(min_ttl) + " s");
  CHECK_FALSE(lost);
  CHECK(ctl.get("/services/hello/hello-1").has_value());
  CHECK(ctl.lease_list() == std::vector<std::int64_t>{lease});
}

TEST_CASE(
    "registration: a service NOT_SERVING at start is never registered, then is once "
    "SERVING",
    "[registration][health]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService good;
  HelloServiceOptions bad_options;
  bad_options.not_serving = true;
  HelloService bad(bad_options);
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(good, "good-1"), entry_for(bad, "bad-1")};
  const Etcdctl ctl = etcd.ctl();
  const std::int64_t base = ctl.revision();  // before the daemon writes anything
  Daemon daemon(manifest_yaml(m));
  DumpOnFailure dump(daemon.process());

  // The healthy service shows the daemon is up and probing; the other one must be absent.
  REQUIRE(wait_for_keys(ctl, "/services/", {"/services/hello/good-1"}));
  CHECK_FALSE(ctl.get("/services/hello/bad-1").has_value());

  const auto t0 = std::chrono::steady_clock::now();
  bad.set_serving(true);
  const auto appeared = wait_for_key_state(ctl, "/services/hello/bad-1", true, t0);
  record_ms("NOT_SERVING->SERVING at start, signal to key visible (etcdctl poll)",
            appeared ? std::optional<long>(appeared->count()) : std::nullopt);
  REQUIRE(appeared.has_value());

  // History: every put or delete advances the revision by one. Exactly two writes happened
  // (good-1, then bad-1), so bad-1 was never put (or put and deleted) before it turned SERVING.
  const auto kvs = ctl.get_prefix("/services/");
  REQUIRE(kvs.size() == 2);
  CHECK(ctl.revision() == base + 2);
  const auto bad_kv = ctl.get("/services/hello/bad-1");
  REQUIRE(bad_kv.has_value());
  CHECK(bad_kv->version == 1);
  CHECK(bad_kv->create_revision == base + 2);
}

TEST_CASE("registration: plain `grpc-registrar -c FILE` runs the daemon", "[registration][cli]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(hello, "hello-1")};
  DaemonOptions options;
  options.explicit_run = false;
  Daemon daemon(manifest_yaml(m), options);
  DumpOnFailure dump(daemon.process());
  CHECK(wait_for_keys(etcd.ctl(), "/services/", {"/services/hello/hello-1"}).has_value());
  CHECK(daemon.terminate().exited_with(0));
}

TEST_CASE("registration: --log-format json logs one JSON object per line on stderr",
          "[registration][cli]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(hello, "hello-1")};
  DaemonOptions options;
  options.log_format = "json";
  options.log_level = "info";
  Daemon daemon(manifest_yaml(m), options);
  DumpOnFailure dump(daemon.process());
  REQUIRE(wait_for_keys(etcd.ctl(), "/services/", {"/services/hello/hello-1"}).has_value());
  REQUIRE(daemon.terminate().exited_with(0));
  const std::string log = daemon.log();
  std::size_t lines = 0;
  std::size_t pos = 0;
  while (pos < log.size()) {  // bounded: pos strictly increases
    auto nl = log.find('\n', pos);
    if (nl == std::string::npos) nl = log.size();
    const std::string line = log.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    ++lines;
    INFO("log line: " << line);
    const json j = json::parse(line, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    CHECK(j.is_object());
    CHECK(j.contains("level"));
    CHECK(j.contains("msg"));
  }
  CHECK(lines >= 1);
}
