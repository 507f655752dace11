#include "status/monitor.hpp"

#include <catch2/catch.hpp>

#include "fakes.hpp"

using namespace registrar;
using namespace registrar::status;
using namespace registrar::status::test;
using registry::Connectivity;
using O = probe::Outcome;

TEST_CASE("monitor: the first pass waits for every service's first probe result", "[status]") {
  Harness h({spec("a"), spec("b")});
  h.registry_state(Connectivity::Up, {});
  auto s = h.monitor.snapshot();
  CHECK_FALSE(s.first_pass_done);
  CHECK_FALSE(s.ready);
  CHECK(s.not_ready_reason == "waiting for the first probe result of 2 service(s)");

  h.result("a", O::NotServing);
  CHECK(h.monitor.snapshot().not_ready_reason ==
        "waiting for the first probe result of 1 service(s)");
  h.result("b", O::NotServing);
  // Both probed, neither healthy: nothing to register, the pass is done.
  CHECK(h.monitor.first_pass_done());
  s = h.monitor.snapshot();
  CHECK(s.ready);
  CHECK(s.not_ready_reason.empty());
}

TEST_CASE("monitor: the first pass waits until the registry holds every healthy service",
          "[status]") {
  Harness h({spec("a"), spec("b")});
  h.result("a", O::Serving);
  h.result("b", O::NotServing);
  h.registry_state(Connectivity::Connecting, {});
  CHECK_FALSE(h.monitor.first_pass_done());
  CHECK(h.monitor.snapshot().not_ready_reason == "etcd connecting");

  h.registry_state(Connectivity::Up, {});
  CHECK_FALSE(h.monitor.first_pass_done());
  auto s = h.monitor.snapshot();
  CHECK(s.not_ready_reason == "registering 1 healthy service(s)");
  REQUIRE(s.services.size() == 2);
  CHECK(s.services[0].id == "a");
  CHECK(s.services[0].registration == Registration::Pending);
  CHECK(s.services[1].registration == Registration::NotRegistered);
  CHECK(s.services[1].last_error == "scripted");  // the failing probe's detail

  h.registry_state(Connectivity::Up, {"a"});
  CHECK(h.monitor.first_pass_done());
  s = h.monitor.snapshot();
  CHECK(s.ready);
  CHECK(s.services[0].registration == Registration::Registered);
  CHECK(s.services[0].last_error.empty());
  CHECK(h.has("grpc_registrar_ready 1"));
  CHECK(h.has("grpc_registrar_service_registered{service=\"a\"} 1"));
  CHECK(h.has("grpc_registrar_service_registered{service=\"b\"} 0"));
  CHECK(h.has("grpc_registrar_registered_services 1"));
  CHECK(h.has("grpc_registrar_registry_up 1"));
}

TEST_CASE("monitor: a registry known to be down completes the first pass, but not readiness",
          "[status]") {
  Harness h({spec("a")});
  h.result("a", O::Serving);
  h.registry_state(Connectivity::Down, {}, "connection refused");
  CHECK(h.monitor.first_pass_done());
  auto s = h.monitor.snapshot();
  CHECK_FALSE(s.ready);
  CHECK(s.not_ready_reason == "etcd down: connection refused");
  CHECK(s.services[0].registration == Registration::Pending);
  CHECK(s.services[0].last_error == "connection refused");
  CHECK(h.monitor.summary() == "1/1 healthy, 0 registered in etcd (down): connection refused");

  // Latched: the pass stays done. Readiness waits until the registry, up again, holds "a":
  // "ready" never reads "0 registered".
  h.registry_state(Connectivity::Up, {});
  CHECK(h.monitor.first_pass_done());
  s = h.monitor.snapshot();
  CHECK_FALSE(s.ready);
  CHECK(s.not_ready_reason == "registering 1 healthy service(s)");
  h.registry_state(Connectivity::Up, {"a"});
  CHECK(h.monitor.snapshot().ready);
  CHECK(h.monitor.summary() == "1/1 healthy, 1 registered in etcd (up, in sync)");
  h.registry_state(Connectivity::Down, {"a"}, "gone");
  CHECK(h.monitor.first_pass_done());
  CHECK_FALSE(h.monitor.snapshot().ready);
  CHECK(h.has("grpc_registrar_ready 0"));
}

TEST_CASE("monitor: probe results and rise/fall transitions are counted", "[status]") {
  Harness h({spec("a", /*rise=*/2, /*fall=*/2)});
  h.result("a", O::Serving);
  CHECK(h.has("grpc_registrar_service_healthy{service=\"a\"} 0"));
  h.result("a", O::Serving);  // rise reached
  CHECK(h.has("grpc_registrar_service_healthy{service=\"a\"} 1"));
  CHECK(h.has("grpc_registrar_service_transitions_total{service=\"a\",to=\"healthy\"} 1"));
  h.result("a", O::NotServing);
  CHECK(h.has("grpc_registrar_service_healthy{service=\"a\"} 1"));  // fall not reached
  h.result("a", O::Timeout);
  CHECK(h.has("grpc_registrar_service_healthy{service=\"a\"} 0"));
  CHECK(h.has("grpc_registrar_service_transitions_total{service=\"a\",to=\"unhealthy\"} 1"));
  CHECK(h.has("grpc_registrar_probe_results_total{service=\"a\",result=\"serving\"} 2"));
  CHECK(h.has("grpc_registrar_probe_results_total{service=\"a\",result=\"not_serving\"} 1"));
  CHECK(h.has("grpc_registrar_probe_results_total{service=\"a\",result=\"timeout\"} 1"));

  // The monitor's verdict is the supervisor's.
  const auto s = h.monitor.snapshot();
  CHECK_FALSE(s.services[0].healthy);
  CHECK(s.services[0].results == 4);
  CHECK(s.services[0].probe_target == "127.0.0.1:5000");
}

TEST_CASE("monitor: ages come from the injected clock", "[status]") {
  Harness h({spec("a")});
  h.result("a", O::Serving);
  h.clock.advance(std::chrono::milliseconds(1500));
  const auto s = h.monitor.snapshot();
  REQUIRE(s.services[0].last_result_at);
  CHECK(s.now - *s.services[0].last_result_at == std::chrono::milliseconds(1500));
  REQUIRE(s.services[0].last_change_at);
}

TEST_CASE("monitor: draining and stopping end readiness", "[status]") {
  Harness h({spec("a")});
  h.result("a", O::NotServing);
  h.registry_state(Connectivity::Up, {});
  CHECK(h.monitor.snapshot().ready);
  h.monitor.set_draining();
  auto s = h.monitor.snapshot();
  CHECK_FALSE(s.ready);
  CHECK(s.draining);
  CHECK(s.not_ready_reason == "draining: deregistered, waiting for SIGTERM");
  CHECK(h.has("grpc_registrar_draining 1"));
  h.monitor.set_stopping();
  CHECK(h.monitor.snapshot().not_ready_reason == "stopping");
  // Results after stopping are not counted (the supervisor ignores them too).
  h.result("a", O::Serving);
  CHECK(h.has("grpc_registrar_probe_results_total{service=\"a\",result=\"not_serving\"} 1"));
  CHECK(h.exposition().find("result=\"serving\"") == std::string::npos);
}

TEST_CASE("monitor: after a drain a healthy service is not_registered, not pending", "[status]") {
  // "pending" means healthy and about to be written; after a drain nothing will be.
  Harness h({spec("a")});
  h.result("a", O::Serving);
  h.registry_state(Connectivity::Up, {"a"});
  h.monitor.set_draining();
  h.registry_state(Connectivity::Up, {}, "an error before the drain");
  const auto s = h.monitor.snapshot();
  REQUIRE(s.services.size() == 1);
  CHECK(s.services[0].healthy);
  CHECK(s.services[0].registration == Registration::NotRegistered);
  CHECK(s.services[0].last_error.empty());
  CHECK(to_string(s.services[0].registration) == std::string("not_registered"));
}

TEST_CASE("monitor: on_change runs on every refresh, so STATUS= can follow", "[status]") {
  Harness h({spec("a")});
  const int before = h.changes;
  h.result("a", O::Serving);  // first pass not done yet: the result refreshes at once
  CHECK(h.changes > before);
}

TEST_CASE("monitor: refreshes asked for by probe results are spaced by 20 times their cost",
          "[status]") {
  // Each refresh reads every service: at N = 10,000, one per burst of results before the first
  // pass was O(N^2). Here reading the services takes 10 ms of the (manual) clock.
  Harness h({spec("a"), spec("b"), spec("c")});
  h.clock.drive_timers(true);
  h.monitor.set_sources(
      [&h] {
        h.clock.advance(std::chrono::milliseconds(10));
        return h.sup->status();
      },
      [&h] { return h.reg->state(); });
  const auto started = h.clock.now();
  h.monitor.refresh();  // costs 10 ms: the next one may come 200 ms after it started
  const int after_first = h.changes;
  h.result("a", O::Serving);
  h.result("b", O::Serving);
  CHECK(h.changes == after_first);  // both wait for one refresh
  h.clock.advance(started + std::chrono::milliseconds(199) - h.clock.now());
  h.io.restart();
  h.io.poll();
  CHECK(h.changes == after_first);
  h.clock.advance(std::chrono::milliseconds(1));
  h.io.restart();
  h.io.poll();
  CHECK(h.changes == after_first + 1);  // one refresh for the whole burst
  const auto s = h.monitor.snapshot();
  REQUIRE(s.services.size() == 3);
  CHECK(s.services[0].healthy);
  CHECK(s.services[1].healthy);
  CHECK_FALSE(s.services[2].probed);
}

TEST_CASE("monitor: the periodic refresh runs on the executor", "[status]") {
  Harness h({spec("a")});
  h.monitor.start();
  const int before = h.changes;
  // Bounded wait (no timing asserted): two ticks of the 100 ms period, within 5 s.
  for (int i = 0; i < 500 && h.changes < before + 2; ++i)
    h.io.run_for(std::chrono::milliseconds(10));
  CHECK(h.changes >= before + 2);
}

TEST_CASE("monitor: a registry refusing a healthy service completes the start, not readiness",
          "[status]") {
  // Up, but the one healthy service is refused (an ACL): systemd's READY=1 must not wait for an
  // operator, and /readyz says what is wrong.
  Harness h({spec("a")});
  h.result("a", O::Serving);
  h.registry_state(Connectivity::Up, {}, "403 Permission denied");
  CHECK(h.monitor.first_pass_done());
  auto s = h.monitor.snapshot();
  CHECK_FALSE(s.ready);
  CHECK(s.not_ready_reason == "registering 1 healthy service(s): 403 Permission denied");
  // Up with nothing written yet and no error: registering, the start not complete.
  Harness quiet({spec("a")});
  quiet.result("a", O::Serving);
  quiet.registry_state(Connectivity::Up, {});
  CHECK_FALSE(quiet.monitor.first_pass_done());
  // Once held, ready.
  h.registry_state(Connectivity::Up, {"a"});
  CHECK(h.monitor.snapshot().ready);
}
