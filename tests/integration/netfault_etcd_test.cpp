// Network faults between the daemon, etcd and the probed service (issue 17), each node in a
// network namespace of its own (support/netns.hpp): silent drops, one-way drops, a half-open
// connection, a partitioned cluster member, a blackholed service, SIGTERM in a blackhole. Every
// bound is the formula of docs/operations.md ("Network faults") over the settings below, plus
// kSlack for a loaded machine.
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>

#include "netfault_itest.hpp"
#include "resilience_itest.hpp"

using namespace registrar::itest;
using registrar::test::NetLab;

namespace {

// The manifest's settings, and the bounds' other terms.
constexpr Millis kLeaseTtl = 5s;          // L, registry.etcd.lease_ttl
constexpr Millis kDial = 1s;              // D, registry.etcd.dial_timeout
constexpr Millis kKeepaliveTimeout = 1s;  // Tk: the gRPC keepalive timeout, max(D, 1 s), which
                                          // is also the connection's TCP_USER_TIMEOUT
constexpr Millis kBackoffStep = 1200ms;   // B·(1+j)
constexpr Millis kReconnect = 1200ms;     // c: channel polled every 200 ms, reconnect ≤ 1 s
constexpr Millis kInterval = 200ms;       // I, probe.interval
constexpr Millis kTimeout = 500ms;        // T, probe.timeout
constexpr int kRise = 2;                  // R
constexpr int kFall = 2;                  // F
constexpr Millis kShutdownTimeout = 1s;   // shutdown_timeout
constexpr Millis kDrain = 500ms;          // drain
// Time to notice a silent registry: the next keepalive (every L/3) stays unacknowledged for Tk.
constexpr Millis kDetect = kLeaseTtl / 3 + kKeepaliveTimeout;

const std::string kKey = "/services/hello/hello-1";
const std::regex kUnreachable(R"(registry: etcd unreachable \()");
const std::regex kReachable(R"(registry: etcd reachable via )");

std::string lease_of(const registrar::test::KeyValue& kv) {
  return registrar::test::lease_hex(kv.lease);
}

// The lab: etcd member(s), the daemon, the service; each in its own namespace.
struct EtcdNet {
  NetLab lab;
  std::vector<std::string> etcd_nodes;
  std::unique_ptr<NetEtcd> etcd;
  std::unique_ptr<NetService> svc;
  std::unique_ptr<registrar::test::Daemon> daemon;
  std::unique_ptr<Recorder> recorder;

  explicit EtcdNet(std::size_t members = 1) {
    for (std::size_t i = 0; i < members; ++i) {
      etcd_nodes.push_back("etcd" + std::to_string(i + 1));
      lab.add(etcd_nodes.back());
    }
    lab.add("daemon");
    lab.add("svc");
    etcd = std::make_unique<NetEtcd>(lab, etcd_nodes);
    svc = std::make_unique<NetService>(lab, "svc");
  }

  std::string manifest() const {
    ManifestParams p;
    p.endpoints = etcd->endpoints();
    p.lease_ttl = "5s";
    p.dial_timeout = "1s";
    p.backoff_initial = "100ms";
    p.backoff_max = "1s";
    p.probe_interval = "200ms";
    p.probe_timeout = "500ms";
    p.drain = "500ms";
    ServiceEntry e;
    e.id = "hello-1";
    e.address = svc->address();
    e.port = svc->port();
    p.services = {e};
    ManifestExtras x;
    x.rise = kRise;
    x.fall = kFall;
    x.shutdown_timeout = "1s";
    return manifest_yaml(p, x);
  }

  // Starts the daemon and waits for the key; then records what member `reader` holds.
  void start(std::size_t reader = 0) {
    daemon = start_daemon(lab, "daemon", manifest());
    const bool registered = wait_until(
        [&] {
          auto kvs = etcd->get_prefix(reader, "/services/");
          return kvs && kvs->size() == 1 && kvs->front().key == kKey;
        },
        15s, 100ms);
    if (!registered) throw std::runtime_error("hello-1 was never registered:\n" + daemon->log());
    recorder = std::make_unique<Recorder>([this, reader] {
      std::optional<std::map<std::string, std::string>> out;
      if (auto kvs = etcd->get_prefix(reader, "/services/")) {
        out.emplace();
        for (const auto& kv : *kvs) (*out)[kv.key] = lease_of(kv);
      }
      return out;
    });
  }

  // The keys under /services/ as member `reader` holds them.
  std::vector<std::string> keys(std::size_t reader = 0) {
    std::vector<std::string> out;
    if (auto kvs = etcd->get_prefix(reader, "/services/"))
      for (const auto& kv : *kvs) out.push_back(kv.key);
    return out;
  }

  std::string current_lease(std::size_t reader = 0) {
    auto kvs = etcd->get_prefix(reader, kKey);
    return kvs && kvs->size() == 1 ? lease_of(kvs->front()) : std::string();
  }
};

}  // namespace

TEST_CASE("netfault etcd: a blackhole shorter than the lease TTL costs nothing",
          "[netfault][etcd]") {
  if (!have_netfault_prerequisites()) return;
  EtcdNet net;
  net.start();
  DumpOnFailure dump(net.daemon->process());
  const std::string lease = net.current_lease();
  REQUIRE_FALSE(lease.empty());
  const auto before = net.etcd->get_prefix(0, kKey);
  REQUIRE((before && before->size() == 1));

  // Blackhole until the daemon notices (the next keepalive goes unanswered for Tk), then heal at
  // once: silent for at most L/3 + Tk, which is shorter than L.
  const std::size_t from = net.daemon->log_size();
  const SteadyTime t0 = steady_now();
  net.lab.blackhole("daemon", "etcd1");
  const auto detected = wait_log(*net.daemon, kUnreachable, from, t0, kDetect + kSlack);
  const SteadyTime healed = steady_now();
  net.lab.heal();
  record_ms("etcd short blackhole: detected after", count_ms(detected));
  REQUIRE(detected);
  CHECK(*detected <= kDetect + kSlack);
  CHECK(since(t0) < kLeaseTtl);

  const auto back = wait_log(*net.daemon, kReachable, from, healed, kReconnect + kSlack);
  record_ms("etcd short blackhole: reachable again after healing", count_ms(back));
  REQUIRE(back);
  CHECK(*back >= 0ms);  // not before the heal: nothing got through the blackhole
  CHECK(*back <= kReconnect + kSlack);
  // A lease older than the outage, kept alive: let a full TTL pass to be sure it was not lost.
  std::this_thread::sleep_for(kLeaseTtl);
  net.recorder->stop();

  CHECK(net.recorder->always(kKey, t0, steady_now(), lease));
  CHECK(net.current_lease() == lease);
  CHECK(net.etcd->leases(0) == std::optional<std::vector<std::int64_t>>(
                                   std::vector<std::int64_t>{std::stoll(lease, nullptr, 16)}));
  CHECK(count_log(*net.daemon, kUnreachable, from) == 1);
  CHECK(count_log(*net.daemon, kReachable, from) == 1);
  CHECK(count_log(*net.daemon, std::regex("lease .* lost"), from) == 0);
  CHECK(net.keys() == std::vector<std::string>{kKey});
  // Not written again: after the outage the daemon only reads its keys back.
  const auto after = net.etcd->get_prefix(0, kKey);
  REQUIRE((after && after->size() == 1));
  CHECK(after->front().mod_revision == before->front().mod_revision);
}

namespace {

// Holds the fault made by `fault` until etcd has expired the lease (the key is gone from etcd's
// own view), then heals; checks detection, expiry, recovery on one new lease, and the log.
// `expiry` is when etcd must have expired the lease, counted from the fault.
void lease_outlived(EtcdNet& net, const std::string& what, Millis expiry,
                    const std::function<void()>& fault) {
  net.start();
  DumpOnFailure dump(net.daemon->process());
  const std::string lease = net.current_lease();
  const std::size_t from = net.daemon->log_size();
  const SteadyTime t0 = steady_now();
  fault();
  const auto detected = wait_log(*net.daemon, kUnreachable, from, t0, kDetect + kSlack);
  record_ms("etcd " + what + ": detected after", count_ms(detected));
  CHECK(detected);
  // etcd expires the lease L after the last keepalive it received (and checks every 500 ms).
  const bool expired = wait_until([&] { return net.recorder->first_without(kKey, t0).has_value(); },
                                  expiry + kSlack, 50ms);
  REQUIRE(expired);
  record_ms(
      "etcd " + what + ": key expired in etcd after",
      std::chrono::duration_cast<Millis>(*net.recorder->first_without(kKey, t0) - t0).count());
  const SteadyTime healed = steady_now();
  net.lab.heal();
  const bool restored = wait_until(
      [&] {
        const std::string now = net.current_lease();
        return !now.empty() && now != lease;
      },
      std::min(kReconnect, kBackoffStep) + kSlack, 50ms);
  record_ms("etcd " + what + ": registered again after healing", since(healed).count());
  REQUIRE(restored);
  // Quiet: the old lease is gone, the new one alone holds the key; no second new lease.
  std::this_thread::sleep_for(kLeaseTtl / 2);
  net.recorder->stop();
  const std::string now = net.current_lease();
  CHECK(net.etcd->leases(0) == std::optional<std::vector<std::int64_t>>(
                                   std::vector<std::int64_t>{std::stoll(now, nullptr, 16)}));
  CHECK(net.keys() == std::vector<std::string>{kKey});
  CHECK(count_log(*net.daemon, kUnreachable, from) == 1);
  CHECK(count_log(*net.daemon, kReachable, from) == 1);
  CHECK(count_log(*net.daemon, std::regex("registry: etcd lease .* granted"), from) == 1);
}

}  // namespace

TEST_CASE("netfault etcd: a blackhole longer than the lease TTL, then healed", "[netfault][etcd]") {
  if (!have_netfault_prerequisites()) return;
  EtcdNet net;
  // The last keepalive etcd received was sent before the fault.
  lease_outlived(net, "long blackhole", kLeaseTtl, [&] { net.lab.blackhole("daemon", "etcd1"); });
}

TEST_CASE("netfault etcd: requests reach etcd, answers are dropped", "[netfault][etcd]") {
  if (!have_netfault_prerequisites()) return;
  EtcdNet net;
  // The next keepalive (at most L/3 later) still reaches etcd and renews the lease.
  lease_outlived(net, "answers dropped", kLeaseTtl + kLeaseTtl / 3,
                 [&] { net.lab.drop("etcd1", "daemon"); });
}

TEST_CASE("netfault etcd: requests are dropped, etcd could answer", "[netfault][etcd]") {
  if (!have_netfault_prerequisites()) return;
  EtcdNet net;
  lease_outlived(net, "requests dropped", kLeaseTtl, [&] { net.lab.drop("daemon", "etcd1"); });
}

TEST_CASE("netfault etcd: a half-open connection is detected by keepalive, not TCP's timeout",
          "[netfault][etcd]") {
  if (!have_netfault_prerequisites()) return;
  EtcdNet net;
  net.start();
  DumpOnFailure dump(net.daemon->process());
  const std::size_t from = net.daemon->log_size();
  // etcd's host "reboots": its connections go silent first (no FIN, no RST ever reaches the
  // daemon), then etcd dies with its namespace, which is made again, and etcd restarts on its
  // data. The daemon's connection stays open on its side: only the keepalive's TCP_USER_TIMEOUT
  // (Tk) after an unanswered keepalive shows it dead; TCP alone would retransmit ~15 minutes.
  const SteadyTime t0 = steady_now();
  REQUIRE(net.lab.half_open("etcd1") >= 1);
  net.etcd->kill9(0);
  net.lab.rebuild("etcd1");
  net.etcd->start(0);
  REQUIRE(net.etcd->wait_healthy(0, 30s));
  const Millis etcd_back = since(t0);
  const auto detected = wait_log(*net.daemon, kUnreachable, from, t0, kDetect + kSlack);
  record_ms("etcd half-open: detected after", count_ms(detected));
  record_ms("etcd half-open: etcd serving again after", etcd_back.count());
  REQUIRE(detected);
  CHECK(*detected <= kDetect + kSlack);
  const auto back = wait_log(*net.daemon, kReachable, from, t0,
                             std::max(*detected, etcd_back) + kReconnect + kSlack);
  record_ms("etcd half-open: reachable again after", count_ms(back));
  REQUIRE(back);
  CHECK(*back <= std::max(*detected, etcd_back) + kReconnect + kSlack);
  // Whatever the lease's fate across the restart, the key is there, on a live lease of ours.
  REQUIRE(wait_until([&] { return !net.current_lease().empty(); }, kBackoffStep + kSlack, 50ms));
  net.recorder->stop();
  const auto leases = net.etcd->leases(0);
  REQUIRE(leases);
  CHECK(std::count(leases->begin(), leases->end(), std::stoll(net.current_lease(), nullptr, 16)) ==
        1);
  CHECK(net.keys() == std::vector<std::string>{kKey});
}

TEST_CASE("netfault etcd: a blackholed service is deregistered after fall, back after rise",
          "[netfault][etcd]") {
  if (!have_netfault_prerequisites()) return;
  EtcdNet net;
  net.start();
  DumpOnFailure dump(net.daemon->process());
  const SteadyTime t0 = steady_now();
  net.lab.blackhole("daemon", "svc");
  // Watch mode, a silent server: each repeat waits for a Check with deadline T (operations.md §5).
  const Millis gone_bound = kInterval + kFall * (kInterval + kTimeout) + kSlack;
  const bool gone = wait_until([&] { return net.recorder->first_without(kKey, t0).has_value(); },
                               gone_bound, 20ms);
  REQUIRE(gone);
  const Millis gone_after =
      std::chrono::duration_cast<Millis>(*net.recorder->first_without(kKey, t0) - t0);
  record_ms("etcd service blackhole: deregistered after", gone_after.count());
  CHECK(gone_after <= gone_bound);
  const SteadyTime healed = steady_now();
  net.lab.heal();
  // The probe's reconnect backoff (at most max(I, 2 s)·1.2), then R results, I apart.
  const Millis back_bound = 2400ms + kRise * (kInterval + kTimeout) + kSlack;
  const bool back = wait_until([&] { return !net.current_lease().empty(); }, back_bound, 50ms);
  record_ms("etcd service blackhole: registered again after healing", since(healed).count());
  REQUIRE(back);
  net.recorder->stop();
  // Registry side untouched: the lease never changed.
  CHECK(net.recorder->states(kKey, t0, steady_now()).size() == 2);  // its lease, then absent
  CHECK(net.keys() == std::vector<std::string>{kKey});
}

TEST_CASE(
    "netfault etcd: one member of three partitioned from the daemon: fail-over, no key "
    "missing",
    "[netfault][etcd]") {
  if (!have_netfault_prerequisites()) return;
  EtcdNet net(3);
  net.start(1);  // the recorder reads member 2, which the partition leaves alone
  DumpOnFailure dump(net.daemon->process());
  const std::string lease = net.current_lease(1);
  REQUIRE_FALSE(lease.empty());
  const std::size_t from = net.daemon->log_size();
  const SteadyTime t0 = steady_now();
  net.lab.blackhole("daemon", "etcd1");
  // The keepalive on member 1 goes unanswered for Tk, the stream fails, the client moves to the
  // next endpoint and the stream reopens there after one initial backoff step.
  const Millis bound = kDetect + kBackoffStep + kSlack;
  const auto moved =
      wait_log(*net.daemon, std::regex(R"(etcd reachable via 10\.213\.[23]\.2:)"), from, t0, bound);
  record_ms("etcd member partitioned: failed over after", count_ms(moved));
  REQUIRE(moved);
  CHECK(*moved <= bound);
  // Hold the partition past a full TTL: the lease lives on through the other members.
  std::this_thread::sleep_for(kLeaseTtl);
  net.lab.heal();
  net.recorder->stop();
  CHECK(net.recorder->always(kKey, t0, steady_now(), lease));
  CHECK(net.current_lease(2) == lease);
  CHECK(net.keys(2) == std::vector<std::string>{kKey});
  CHECK(count_log(*net.daemon, std::regex("lease .* lost"), from) == 0);
}

TEST_CASE("netfault etcd: SIGTERM while etcd is blackholed", "[netfault][etcd]") {
  if (!have_netfault_prerequisites()) return;
  EtcdNet net;
  net.start();
  DumpOnFailure dump(net.daemon->process());
  const std::size_t from = net.daemon->log_size();
  const SteadyTime t0 = steady_now();
  net.lab.blackhole("daemon", "etcd1");
  net.daemon->signal(SIGTERM);
  const auto status = net.daemon->process().wait_exit(kShutdownTimeout + kDrain + kSlack);
  const Millis exited_after = since(t0);
  record_ms("etcd SIGTERM in a blackhole: exited after", exited_after.count());
  REQUIRE(status);
  // Documented: exit 0, after trying to revoke until shutdown_timeout, then drain.
  CHECK(status->exited_with(0));
  CHECK(exited_after >= kShutdownTimeout);
  CHECK(exited_after <= kShutdownTimeout + kDrain + kSlack);
  CHECK(count_log(*net.daemon, std::regex("deregistration incomplete"), from) == 1);
  // The key expires with the lease: L after the last keepalive etcd received (before t0).
  const bool expired = wait_until([&] { return net.recorder->first_without(kKey, t0).has_value(); },
                                  kLeaseTtl + kSlack, 50ms);
  REQUIRE(expired);
  record_ms(
      "etcd SIGTERM in a blackhole: key expired after",
      std::chrono::duration_cast<Millis>(*net.recorder->first_without(kKey, t0) - t0).count());
  net.lab.heal();
}

namespace {

constexpr const char* kNetnsProbe = "netfault: hidden probe that begins as every netfault test";

registrar::test::CommandResult run_netns_probe(registrar::test::EnvVars env) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  return registrar::test::run_command(self, {kNetnsProbe}, 60s, env);
}

bool mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

// Hidden ([.]): not listed, so ctest does not run it on its own.
TEST_CASE("netfault: hidden probe that begins as every netfault test", "[.][probe]") {
  if (!have_netfault_prerequisites()) return;
  NetLab lab;  // namespaces really can be made here
  lab.add("probe");
  SUCCEED("network namespaces available");
}

TEST_CASE("netfault: without network namespaces the tests fail under CI=true, warn elsewhere",
          "[netfault]") {
  if (!have_netfault_prerequisites()) return;
  const auto in_ci = run_netns_probe({{"REGISTRAR_TEST_NETNS", "off"}, {"CI", "true"}});
  INFO(in_ci.out << in_ci.err);
  CHECK_FALSE(in_ci.status.exited_with(0));
  CHECK(mentions(in_ci.out, "network namespaces disabled"));
  CHECK(mentions(in_ci.out, "test cases: 1 | 1 failed"));

  const auto outside = run_netns_probe({{"REGISTRAR_TEST_NETNS", "off"}, {"CI", ""}});
  INFO(outside.out << outside.err);
  CHECK(outside.status.exited_with(0));
  CHECK(mentions(outside.out, "test not run"));

  const auto found = run_netns_probe({{"CI", "true"}});
  INFO(found.out << found.err);
  CHECK(found.status.exited_with(0));
}
