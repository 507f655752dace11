// Shared helpers for the daemon's end-to-end tests: manifest text, etcd polling through etcdctl,
// latency records, and dumping the daemon's log when a test fails.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "support/daemon.hpp"
#include "support/etcd_server.hpp"
#include "support/etcdctl.hpp"
#include "support/hello_service.hpp"
#include "support/wait.hpp"

namespace registrar::itest {

using namespace registrar::test;

struct ServiceEntry {
  std::string name = "hello";
  std::string id;  // omitted from the manifest when empty
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;
  std::vector<std::string> tags;
  std::map<std::string, std::string> meta;
  std::string probe_service;  // grpc.health.v1 name; always written, "" = whole server
};

struct ManifestParams {
  std::vector<std::string> endpoints;
  std::string prefix = "/services";
  std::string format = "json";
  std::string lease_ttl = "5s";
  std::string dial_timeout = "1s";
  std::string resync_interval = "30s";
  std::string backoff_initial = "100ms";
  std::string backoff_max = "1s";
  std::string probe_mode = "watch";
  std::string probe_interval = "200ms";
  // With fall 1, one Check slower than this takes a healthy service out: generous, for
  // sanitizer builds on a loaded machine. Tests about timeouts set their own.
  std::string probe_timeout = "2s";
  // Empty: `liveness_interval` equal to `probe_interval`, a liveness Check at every repeat, which
  // the hung-service bounds of these tests assume; "default": the key left out (the daemon's
  // default); else that value.
  std::string probe_liveness_interval;
  std::string drain = "0s";
  std::vector<ServiceEntry> services;
};

// The manifest as block-style YAML, strings double-quoted.
std::string manifest_yaml(const ManifestParams& p);

// A service entry for a running hello-service.
ServiceEntry entry_for(const HelloService& hello, const std::string& id,
                       const std::string& probe_service = "");

// True when the daemon and hello-service binaries exist. Otherwise under CI=true the test FAILs
// with the reason, elsewhere it WARNs (test not run) and the caller returns
// (support/require.hpp): `if (!have_binaries()) return;`.
bool have_binaries();

// etcdctl reads that return nullopt instead of throwing while etcd is unreachable.
std::optional<std::vector<KeyValue>> try_get_prefix(const Etcdctl& ctl, const std::string& prefix);
std::optional<std::vector<std::int64_t>> try_lease_list(const Etcdctl& ctl);

// Polls until exactly the keys `keys` (sorted) exist under `prefix`; returns them, or nullopt
// at the deadline.
std::optional<std::vector<KeyValue>> wait_for_keys(const Etcdctl& ctl, const std::string& prefix,
                                                   std::vector<std::string> keys,
                                                   Millis timeout = 10s, Millis poll = 20ms);

// Polls until `key` is present (want = true) or absent (want = false). Returns the elapsed time
// from `since`, or nullopt at the deadline.
std::optional<Millis> wait_for_key_state(const Etcdctl& ctl, const std::string& key, bool want,
                                         std::chrono::steady_clock::time_point since,
                                         Millis timeout = 10s, Millis poll = 5ms);

// The daemon's own measurement: the number in "registry: <id> <verb> N ms after probe result"
// logged at or after `from`.
std::optional<long> wait_for_daemon_latency(Daemon& daemon, const std::string& id,
                                            const std::string& verb, std::size_t from,
                                            Millis timeout = 10s);

// The non-empty lines of `text`.
std::vector<std::string> non_empty_lines(const std::string& text);

// Prints a measured value for the record (never asserted on).
void record(const std::string& what, const std::string& value);
void record_ms(const std::string& what, std::optional<long> ms);
// Milliseconds of an optional duration (nullopt stays nullopt), for record_ms.
inline std::optional<long> count_ms(const std::optional<Millis>& d) {
  return d ? std::optional<long>(d->count()) : std::nullopt;
}

// Prints `process`'s output when the test case it lives in has a failed assertion (CHECK or
// REQUIRE) by the time this guard is destroyed. Declare it after the process.
class DumpOnFailure {
 public:
  explicit DumpOnFailure(Process& p) : process_(p) {}
  ~DumpOnFailure();
  DumpOnFailure(const DumpOnFailure&) = delete;
  DumpOnFailure& operator=(const DumpOnFailure&) = delete;

 private:
  Process& process_;
};

// True once an assertion of the current test case has failed (set by a Catch2 listener).
bool current_test_failed();

}  // namespace registrar::itest
