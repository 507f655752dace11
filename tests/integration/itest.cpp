#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include "itest.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <exception>
#include <iostream>
#include <nlohmann/json.hpp>

#include "support/paths.hpp"
#include "support/require.hpp"

namespace {

bool g_failed = false;

// Notes failed assertions, so that DumpOnFailure can show the daemon's log for CHECK failures
// too (a failed REQUIRE unwinds and Process dumps on its own).
struct ItestFailureListener : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testCaseStarting(const Catch::TestCaseInfo& info) override {
    TestEventListenerBase::testCaseStarting(info);
    g_failed = false;
  }
  bool assertionEnded(const Catch::AssertionStats& stats) override {
    if (!stats.assertionResult.isOk()) g_failed = true;
    return true;
  }
};

std::string quote(const std::string& s) {
  return nlohmann::json(s).dump();
}

}  // namespace

CATCH_REGISTER_LISTENER(ItestFailureListener)

namespace registrar::itest {

bool current_test_failed() {
  return g_failed;
}

DumpOnFailure::~DumpOnFailure() {
  // During unwinding the Process dumps itself; avoid printing twice.
  if (g_failed && std::uncaught_exceptions() == 0) {
    try {
      process_.dump(32768);
    } catch (...) {
    }
  }
}

std::string manifest_yaml(const ManifestParams& p) {
  std::string y;
  y += "registry:\n";
  y += "  kind: etcd\n";
  y += "  etcd:\n";
  y += "    endpoints:\n";
  for (const auto& e : p.endpoints) y += "      - " + quote(e) + "\n";
  y += "    prefix: " + quote(p.prefix) + "\n";
  y += "    format: " + p.format + "\n";
  y += "    lease_ttl: " + p.lease_ttl + "\n";
  y += "    dial_timeout: " + p.dial_timeout + "\n";
  y += "    resync_interval: " + p.resync_interval + "\n";
  y += "  backoff: {initial: " + p.backoff_initial + ", max: " + p.backoff_max + "}\n";
  y += "defaults:\n";
  y += "  probe: {mode: " + p.probe_mode + ", interval: " + p.probe_interval +
       ", timeout: " + p.probe_timeout + ", rise: 1, fall: 1";
  if (p.probe_liveness_interval != "default") {
    y += ", liveness_interval: " +
         (p.probe_liveness_interval.empty() ? p.probe_interval : p.probe_liveness_interval);
  }
  y += "}\n";
  y += "services:\n";
  if (p.services.empty()) y.replace(y.size() - 1, 1, " []\n");
  for (const auto& s : p.services) {
    y += "  - name: " + quote(s.name) + "\n";
    if (!s.id.empty()) y += "    id: " + quote(s.id) + "\n";
    y += "    address: " + quote(s.address) + "\n";
    y += "    port: " + std::to_string(s.port) + "\n";
    if (!s.tags.empty()) {
      y += "    tags: [";
      for (std::size_t i = 0; i < s.tags.size(); ++i) y += (i ? ", " : "") + quote(s.tags[i]);
      y += "]\n";
    }
    if (!s.meta.empty()) {
      y += "    meta:\n";
      for (const auto& [k, v] : s.meta) y += "      " + quote(k) + ": " + quote(v) + "\n";
    }
    y += "    probe:\n";
    y += "      service: " + quote(s.probe_service) + "\n";
  }
  y += "drain: " + p.drain + "\n";
  return y;
}

ServiceEntry entry_for(const HelloService& hello, const std::string& id,
                       const std::string& probe_service) {
  ServiceEntry e;
  e.id = id;
  e.port = hello.port();
  e.probe_service = probe_service;
  return e;
}

bool have_binaries() {
  return need(registrar_bin().has_value(),
              "grpc-registrar binary not found (target grpc-registrar, or "
              "$REGISTRAR_TEST_REGISTRAR_BIN)") &&
         need(hello_service_bin().has_value(),
              "hello-service binary not found (target hello-service, or "
              "$REGISTRAR_TEST_HELLO_SERVICE_BIN)");
}

std::optional<std::vector<KeyValue>> try_get_prefix(const Etcdctl& ctl, const std::string& prefix) {
  try {
    return ctl.get_prefix(prefix);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<std::vector<std::int64_t>> try_lease_list(const Etcdctl& ctl) {
  try {
    return ctl.lease_list();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<std::vector<KeyValue>> wait_for_keys(const Etcdctl& ctl, const std::string& prefix,
                                                   std::vector<std::string> keys, Millis timeout,
                                                   Millis poll) {
  std::sort(keys.begin(), keys.end());
  return wait_for_value(
      [&]() -> std::optional<std::vector<KeyValue>> {
        auto kvs = try_get_prefix(ctl, prefix);
        if (!kvs) return std::nullopt;
        std::vector<std::string> got;
        for (const auto& kv : *kvs) got.push_back(kv.key);
        std::sort(got.begin(), got.end());
        if (got != keys) return std::nullopt;
        return kvs;
      },
      timeout, poll);
}

std::optional<Millis> wait_for_key_state(const Etcdctl& ctl, const std::string& key, bool want,
                                         std::chrono::steady_clock::time_point since,
                                         Millis timeout, Millis poll) {
  const bool ok = wait_until(
      [&] {
        try {
          return ctl.get(key).has_value() == want;
        } catch (const std::exception&) {
          return false;
        }
      },
      timeout, poll);
  if (!ok) return std::nullopt;
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - since);
}

std::optional<long> wait_for_daemon_latency(Daemon& daemon, const std::string& id,
                                            const std::string& verb, std::size_t from,
                                            Millis timeout) {
  // e.g. "registry: hello-1 removed 3 ms after probe result (key /services/hello/hello-1)"
  const std::regex re(std::regex_replace(id, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") + " " +
                      verb + R"( ([0-9]+) ms after probe result)");
  const auto m = daemon.wait_for_log(re, timeout, from);
  if (!m) return std::nullopt;
  return std::stol(m->groups.at(1));
}

void record(const std::string& what, const std::string& value) {
  const std::string line = "MEASURED " + what + ": " + value;
  std::cout << line << std::endl;
  WARN(line);
}

void record_ms(const std::string& what, std::optional<long> ms) {
  record(what, ms ? std::to_string(*ms) + " ms" : std::string("(not observed)"));
}

std::vector<std::string> non_empty_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {  // bounded: pos strictly increases
    auto nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    if (nl > pos) lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

}  // namespace registrar::itest
