// The status server of a running daemon: /healthz, /readyz, /v1/services and /metrics, scraped
// while the example service's health flips and etcd comes and goes.
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "consul_itest.hpp"
#include "ops_itest.hpp"
#include "support/ports.hpp"

using namespace registrar::itest;

namespace {

std::string with_status(const ManifestParams& m, const std::string& listen = "127.0.0.1:0") {
  return manifest_yaml(m) + "status:\n  listen: \"" + listen + "\"\n";
}

// The sum of every sample of `family` (all label sets), e.g. all registry errors.
double sum_of(const std::string& exposition, const std::string& family) {
  std::istringstream in(exposition);
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.rfind(family + "{", 0) == 0 || line.rfind(family + " ", 0) == 0)
      sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

std::string requests(const std::string& kind) {
  return "grpc_registrar_registry_requests_total{kind=\"" + kind + "\"}";
}

const std::string kKeepaliveCount = "grpc_registrar_keepalive_latency_seconds_count";

// The mean keepalive round trip so far, for the log (never asserted on).
void print_keepalive_latency(const std::string& backend, const std::string& text) {
  const auto count = metric(text, kKeepaliveCount);
  const auto sum = metric(text, "grpc_registrar_keepalive_latency_seconds_sum");
  if (count && sum && *count > 0)
    std::printf("MEASURED ops_status %s keepalive latency mean %.3f ms over %.0f\n",
                backend.c_str(), *sum / *count * 1000, *count);
}

}  // namespace

TEST_CASE("ops status: the figures move when the service's health flips", "[ops][status]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  const Etcdctl ctl = etcd.ctl();
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(hello, "hello-1")};
  Daemon d(with_status(m));
  DumpOnFailure dump(d.process());
  const auto port = wait_for_status_port(d.process());
  REQUIRE(port);
  REQUIRE(wait_for_keys(ctl, "/services", {"/services/hello/hello-1"}));

  CHECK(http(*port, "/healthz")->body == "ok\n");
  CHECK(wait_until([&] { return http(*port, "/readyz")->status == 200; }, 5s));
  const std::string healthy = "grpc_registrar_service_healthy{service=\"hello-1\"}";
  const std::string registered = "grpc_registrar_service_registered{service=\"hello-1\"}";
  const std::string to_unhealthy =
      "grpc_registrar_service_transitions_total{service=\"hello-1\",to=\"unhealthy\"}";
  const std::string not_serving =
      "grpc_registrar_probe_results_total{service=\"hello-1\",result=\"not_serving\"}";
  CHECK(wait_for_metric(*port, healthy, [](double v) { return v == 1; }) == 1);
  CHECK(wait_for_metric(*port, registered, [](double v) { return v == 1; }) == 1);
  auto text = http(*port, "/metrics")->body;
  CHECK(metric(text, "grpc_registrar_registered_services") == 1);
  CHECK(metric(text, "grpc_registrar_registry_up") == 1);
  CHECK(metric(text, "grpc_registrar_ready") == 1);
  CHECK_FALSE(metric(text, to_unhealthy));  // no such series yet
  const double serving_before =
      *metric(text, "grpc_registrar_probe_results_total{service=\"hello-1\",result=\"serving\"}");
  CHECK(serving_before >= 1);
  // The backend's own traffic: the lease grant, the Txn that wrote the entry, a keepalive
  // answered; no request failed while etcd was up.
  CHECK(wait_for_metric(*port, kKeepaliveCount, [](double v) { return v >= 1; }) >= 1);
  text = http(*port, "/metrics")->body;
  CHECK(metric(text, requests("grant")) >= 1);
  CHECK(metric(text, requests("txn")) >= 1);
  CHECK(metric(text, "grpc_registrar_registry_request_duration_seconds_count{kind=\"txn\"}") >= 1);
  CHECK(sum_of(text, "grpc_registrar_registry_errors_total") == 0);
  CHECK(metric(text, "grpc_registrar_lease_regrants_total") == 0);
  print_keepalive_latency("etcd", text);

  hello.set_serving(false);
  CHECK(wait_for_metric(*port, healthy, [](double v) { return v == 0; }) == 0);
  CHECK(wait_for_metric(*port, registered, [](double v) { return v == 0; }) == 0);
  text = http(*port, "/metrics")->body;
  CHECK(metric(text, to_unhealthy) == 1);
  CHECK(metric(text, not_serving) >= 1);
  CHECK(metric(text, "grpc_registrar_registered_services") == 0);

  auto services = nlohmann::json::parse(http(*port, "/v1/services")->body);
  REQUIRE(services["services"].size() == 1);
  CHECK(services["services"][0]["id"] == "hello-1");
  CHECK(services["services"][0]["probe"]["state"] == "unhealthy");
  CHECK(services["services"][0]["registration"] == "not_registered");
  CHECK(services["services"][0]["last_error"].get<std::string>().find("NOT_SERVING") !=
        std::string::npos);

  hello.set_serving(true);
  CHECK(wait_for_metric(*port, registered, [](double v) { return v == 1; }) == 1);
  text = http(*port, "/metrics")->body;
  CHECK(metric(text,
               "grpc_registrar_service_transitions_total{service=\"hello-1\",to=\"healthy\"}") ==
        2);
  services = nlohmann::json::parse(http(*port, "/v1/services")->body);
  CHECK(services["services"][0]["registration"] == "registered");
  CHECK(services["registry"]["connectivity"] == "up");

  // etcd gone: not ready, the registry reported down; back: ready again.
  etcd.stop();
  CHECK(wait_until([&] { return http(*port, "/readyz")->status == 503; }, 15s));
  CHECK(http(*port, "/readyz")->body.rfind("not ready: etcd", 0) == 0);
  CHECK(wait_for_metric(*port, "grpc_registrar_registry_up", [](double v) { return v == 0; }) == 0);
  // The keepalive stream broke (and whatever else was sent meanwhile failed): counted as errors.
  CHECK(sum_of(http(*port, "/metrics")->body, "grpc_registrar_registry_errors_total") >= 1);
  etcd.start();
  CHECK(wait_until([&] { return http(*port, "/readyz")->status == 200; }, 15s));
  CHECK(d.terminate().exited_with(0));
}

TEST_CASE("ops status: the Consul backend's requests and TTL check updates are counted",
          "[ops][status][consul]") {
  if (!have_binaries()) return;
  ConsulDouble consul;
  HelloService hello;
  ConsulParams p;
  p.address = consul.address();
  p.services = {entry_for(hello, "hello-1")};
  Daemon d(consul_manifest_yaml(p) + "status:\n  listen: \"127.0.0.1:0\"\n");
  DumpOnFailure dump(d.process());
  const auto port = wait_for_status_port(d.process());
  REQUIRE(port);
  REQUIRE(wait_for_services(consul, {"hello-1"}));
  // Registered, then its check pushed passing: at least one check update, and each one resets
  // the TTL (check_ttl 1s: refreshed about every 333 ms), so keepalive samples keep coming.
  CHECK(wait_for_metric(*port, kKeepaliveCount, [](double v) { return v >= 2; }) >= 2);
  const auto text = http(*port, "/metrics")->body;
  CHECK(metric(text, requests("services_list")) >= 1);
  CHECK(metric(text, requests("register")) >= 1);
  CHECK(metric(text, requests("check_update")) >= 2);
  CHECK(sum_of(text, "grpc_registrar_registry_errors_total") == 0);
  CHECK(metric(text, "grpc_registrar_lease_regrants_total") == 0);
  print_keepalive_latency("consul", text);
  CHECK(d.terminate().exited_with(0));
}

TEST_CASE("ops status: --status-listen overrides the manifest, a taken port is exit 78",
          "[ops][status]") {
  if (!have_binaries()) return;
  ManifestParams m;
  m.endpoints = {"127.0.0.1:" + std::to_string(free_port())};
  {
    DaemonOptions o;
    o.extra_args = {"--status-listen", "127.0.0.1:0"};
    Daemon d(manifest_yaml(m), o);  // no status section in the manifest
    DumpOnFailure dump(d.process());
    const auto port = wait_for_status_port(d.process());
    REQUIRE(port);
    CHECK(http(*port, "/healthz")->status == 200);
    CHECK(http(*port, "/nope")->status == 404);
    CHECK(http(*port, "/metrics", "POST")->status == 405);
    CHECK(d.terminate().exited_with(0));
  }
  {
    // Something holds the port: the daemon stops before registering anything.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    const std::string taken = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    const ManifestFile file(with_status(m, taken));
    const auto r = run_registrar({"run", "-c", file.path().string()});
    ::close(fd);
    INFO(r.err);
    CHECK(r.status.exited_with(78));
    CHECK(r.err.find("status.listen: cannot listen on " + taken) != std::string::npos);
  }
}
