// The status server of a running daemon: /healthz, /readyz, /v1/services and /metrics, scraped
// while the example service's health flips and etcd comes and goes.
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "ops_itest.hpp"
#include "support/ports.hpp"

using namespace registrar::itest;

namespace {

std::string with_status(const ManifestParams& m, const std::string& listen = "127.0.0.1:0") {
  return manifest_yaml(m) + "status:\n  listen: \"" + listen + "\"\n";
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
  etcd.start();
  CHECK(wait_until([&] { return http(*port, "/readyz")->status == 200; }, 15s));
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
