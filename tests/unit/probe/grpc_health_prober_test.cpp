// The grpc.health.v1 prober against a real in-process gRPC server on 127.0.0.1.
#include "probe/grpc_health_prober.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/clock.hpp"
#include "unit/probe/health_server_fixture.hpp"
#include "unit/probe/prober_harness.hpp"

using namespace std::chrono_literals;
using registrar::config::ProbeMode;
using registrar::config::ServiceSpec;
using registrar::probe::make_grpc_health_prober;
using registrar::probe::Outcome;
using registrar::probe::Prober;
using registrar::probe::Result;
using registrar::probe::to_string;
using registrar::test::HealthServerFixture;
using HealthCheckResponse = grpc::health::v1::HealthCheckResponse;
using registrar::runtime::Clock;
using registrar::runtime::ManualClock;
using registrar::test::drain;
using registrar::test::Entry;
using registrar::test::Harness;
using registrar::test::kDeadline;
using registrar::test::make_spec;
using registrar::test::ms_between;
using registrar::test::run_for;
using registrar::test::run_until;
using registrar::test::tick_until;
using SteadyClock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

namespace {

// A port on 127.0.0.1 with nothing listening (it was free a moment ago).
int unused_port() {
  HealthServerFixture server;
  const int port = server.port();
  server.shutdown();
  return port;
}

}  // namespace

TEST_CASE("outcome names") {
  CHECK(std::string(to_string(Outcome::Serving)) == "serving");
  CHECK(std::string(to_string(Outcome::NotServing)) == "not_serving");
  CHECK(std::string(to_string(Outcome::Unknown)) == "unknown");
  CHECK(std::string(to_string(Outcome::ServiceUnknown)) == "service_unknown");
  CHECK(std::string(to_string(Outcome::Unreachable)) == "unreachable");
  CHECK(std::string(to_string(Outcome::Timeout)) == "timeout");
  CHECK(std::string(to_string(Outcome::RpcError)) == "rpc_error");
}

TEST_CASE("Check answers map to outcomes") {
  using registrar::probe::result_from_check;
  struct Row {
    grpc::Status status;
    HealthCheckResponse::ServingStatus serving;
    Outcome outcome;
    std::string detail;
  };
  const std::vector<Row> rows = {
      {grpc::Status::OK, HealthCheckResponse::SERVING, Outcome::Serving, "SERVING (check)"},
      {grpc::Status::OK, HealthCheckResponse::NOT_SERVING, Outcome::NotServing,
       "NOT_SERVING (check)"},
      {grpc::Status::OK, HealthCheckResponse::UNKNOWN, Outcome::Unknown, "UNKNOWN (check)"},
      {grpc::Status::OK, HealthCheckResponse::SERVICE_UNKNOWN, Outcome::ServiceUnknown,
       "SERVICE_UNKNOWN (check)"},
      {grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service"), HealthCheckResponse::UNKNOWN,
       Outcome::ServiceUnknown, "NOT_FOUND: unknown service (check)"},
      {grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded"),
       HealthCheckResponse::UNKNOWN, Outcome::Timeout,
       "DEADLINE_EXCEEDED: Deadline Exceeded (check)"},
      {grpc::Status(grpc::StatusCode::UNAVAILABLE, "failed to connect"),
       HealthCheckResponse::UNKNOWN, Outcome::Unreachable,
       "UNAVAILABLE: failed to connect (check)"},
      {grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "nope"), HealthCheckResponse::UNKNOWN,
       Outcome::RpcError, "PERMISSION_DENIED: nope (check)"},
      {grpc::Status(grpc::StatusCode::INTERNAL, ""), HealthCheckResponse::UNKNOWN,
       Outcome::RpcError, "INTERNAL (check)"},
  };
  for (const Row& row : rows) {
    const Result r = result_from_check(row.status, row.serving);
    CHECK(r.outcome == row.outcome);
    CHECK(r.detail == row.detail);
    CHECK(r.ok() == (row.outcome == Outcome::Serving));
  }
}

TEST_CASE("Watch stream ends map to failures") {
  using registrar::probe::result_from_watch_end;
  const Result clean = result_from_watch_end(grpc::Status::OK);
  CHECK(clean.outcome == Outcome::Unreachable);
  CHECK(clean.detail == "stream closed by server (watch)");
  CHECK(result_from_watch_end(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x")).outcome ==
        Outcome::Unreachable);
  CHECK(result_from_watch_end(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "x")).outcome ==
        Outcome::Timeout);
  const Result other = result_from_watch_end(grpc::Status(grpc::StatusCode::INTERNAL, "boom"));
  CHECK(other.outcome == Outcome::RpcError);
  CHECK(other.detail == "INTERNAL: boom (watch)");
  CHECK(registrar::probe::result_from_serving_status(HealthCheckResponse::NOT_SERVING, "watch")
            .detail == "NOT_SERVING (watch)");
}

TEST_CASE("watch reports SERVING, then NOT_SERVING promptly after a change") {
  HealthServerFixture server;
  server.set_status("app", HealthCheckResponse::SERVING);
  Harness h;
  // A long interval, so that every result here comes from the stream itself.
  h.start(make_spec(server.target(), "app", ProbeMode::Watch, 30s));

  REQUIRE(h.wait_for_count(1));
  CHECK(h.entries[0].result.outcome == Outcome::Serving);
  CHECK(h.entries[0].result.detail == "SERVING (watch)");

  const std::size_t before = h.entries.size();
  const auto changed_at = SteadyClock::now();
  server.set_status("app", HealthCheckResponse::NOT_SERVING);
  REQUIRE(h.wait_for(Outcome::NotServing, before));
  const Entry& seen = h.entries[*h.find(Outcome::NotServing, before)];
  WARN("Watch saw NOT_SERVING " << ms_between(changed_at, seen.at) << " ms after the change");
  CHECK(seen.result.detail == "NOT_SERVING (watch)");
  CHECK_FALSE(seen.result.ok());
  CHECK(server.watch_calls() == 1);  // one stream throughout
  CHECK(server.check_calls() == 0);

  server.set_status("app", HealthCheckResponse::UNKNOWN);
  REQUIRE(h.wait_for(Outcome::Unknown, before));
}

TEST_CASE("watch re-emits the last status every interval") {
  HealthServerFixture server;
  server.set_status("", HealthCheckResponse::SERVING);
  Harness h;
  h.start(make_spec(server.target(), "", ProbeMode::Watch, 100ms));

  REQUIRE(h.wait_for_count(1));  // the stream's first message
  REQUIRE(h.tick_for_count(5));  // and the repeats, as the interval passes
  INFO(h.dump());
  CHECK(h.count(Outcome::Serving) == h.entries.size());
  for (std::size_t i = 1; i < h.entries.size(); ++i) {
    INFO("gap " << i << ": " << ms_between(h.entries[i - 1].at, h.entries[i].at) << " ms");
    CHECK(h.entries[i].result.detail == "SERVING (watch)");
    // Never more often than the interval.
    CHECK(h.entries[i].on_clock - h.entries[i - 1].on_clock >= 100ms);
  }
  WARN("5 results in " << ms_between(h.entries.front().at, h.entries.back().at)
                       << " ms of real time with interval 100 ms");
  // Still one stream; each repeat waited for a Check proving that the server answers.
  CHECK(server.watch_calls() == 1);
  CHECK(server.check_calls() >= 3);
}

TEST_CASE("an unknown service name gives SERVICE_UNKNOWN") {
  HealthServerFixture server;
  server.set_status("known", HealthCheckResponse::SERVING);
  Harness h;

  SECTION("watch") {
    h.start(make_spec(server.target(), "nope", ProbeMode::Watch, 30s));
    REQUIRE(h.wait_for_count(1));
    CHECK(h.entries[0].result.outcome == Outcome::ServiceUnknown);
    CHECK(h.entries[0].result.detail == "SERVICE_UNKNOWN (watch)");

    // The stream stays open and reports the service once it appears.
    server.set_status("nope", HealthCheckResponse::SERVING);
    REQUIRE(h.wait_for(Outcome::Serving));
    CHECK(server.watch_calls() == 1);
  }
  SECTION("poll (Check answers NOT_FOUND)") {
    h.start(make_spec(server.target(), "nope", ProbeMode::Poll, 100ms));
    REQUIRE(h.wait_for_count(1));
    CHECK(h.entries[0].result.outcome == Outcome::ServiceUnknown);
    CHECK(h.entries[0].result.detail == "NOT_FOUND: unknown service (check)");
  }
}

TEST_CASE("watch falls back to Check polling when Watch is UNIMPLEMENTED") {
  HealthServerFixture server;
  server.set_status("app", HealthCheckResponse::SERVING);
  server.set_watch_unimplemented(true);
  Harness h;
  h.start(make_spec(server.target(), "app", ProbeMode::Watch, 100ms));

  // The Watch call's answer (UNIMPLEMENTED) and the first Check's come in real time; only then
  // does the clock move on, or it would pass the first-message timeout of the Watch call.
  REQUIRE(h.wait_for_count(1));
  REQUIRE(h.tick_for_count(3));
  INFO(h.dump());
  for (const Entry& e : h.entries) {
    CHECK(e.result.outcome == Outcome::Serving);
    CHECK(e.result.detail == "SERVING (check)");
  }
  const std::size_t before = h.entries.size();
  server.set_status("app", HealthCheckResponse::NOT_SERVING);
  REQUIRE(h.tick_for(Outcome::NotServing, before));
  CHECK(server.watch_calls() == 1);  // the fallback is for good
  CHECK(server.check_calls() >= 4);
}

TEST_CASE("poll mode reports changes") {
  HealthServerFixture server;
  server.set_status("app", HealthCheckResponse::SERVING);
  Harness h;
  h.start(make_spec(server.target(), "app", ProbeMode::Poll, 50ms));

  REQUIRE(h.wait_for(Outcome::Serving));
  CHECK(h.entries[0].result.detail == "SERVING (check)");

  std::size_t mark = h.entries.size();
  server.set_status("app", HealthCheckResponse::NOT_SERVING);
  REQUIRE(h.tick_for(Outcome::NotServing, mark));
  CHECK(h.entries[*h.find(Outcome::NotServing, mark)].result.detail == "NOT_SERVING (check)");

  mark = h.entries.size();
  server.set_status("app", HealthCheckResponse::SERVICE_UNKNOWN);
  REQUIRE(h.tick_for(Outcome::ServiceUnknown, mark));

  mark = h.entries.size();
  server.set_status("app", HealthCheckResponse::SERVING);
  REQUIRE(h.tick_for(Outcome::Serving, mark));
  CHECK(server.watch_calls() == 0);
  // One result per Check: nothing is dropped and nothing is invented.
  CHECK(static_cast<std::size_t>(server.check_calls()) >= h.entries.size());
  CHECK(static_cast<std::size_t>(server.check_calls()) <= h.entries.size() + 1);
}

TEST_CASE("nothing listening: Unreachable without waiting for a connection") {
  const int port = unused_port();
  Harness h;
  const auto mode = GENERATE(ProbeMode::Watch, ProbeMode::Poll);
  INFO("mode " << (mode == ProbeMode::Watch ? "watch" : "poll"));
  // A long timeout: a failure well before it shows that calls do not wait for ready.
  h.start(make_spec("127.0.0.1:" + std::to_string(port), "", mode, 100ms, 8s));
  const auto started = SteadyClock::now();
  REQUIRE(h.wait_for_count(1));
  CHECK(h.entries[0].result.outcome == Outcome::Unreachable);
  CHECK(h.entries[0].result.detail.rfind("UNAVAILABLE", 0) == 0);
  WARN("first failure after " << ms_between(started, h.entries[0].at) << " ms");
  CHECK(h.entries[0].at - started < 5s);
  // And the failure keeps being reported, so that fall thresholds complete.
  REQUIRE(h.tick_for_count(3));
  CHECK(h.count(Outcome::Unreachable) == h.entries.size());
}

TEST_CASE("server shut down: Unreachable, then recovery when it restarts on the same port") {
  HealthServerFixture server;
  server.set_status("app", HealthCheckResponse::SERVING);
  const int port = server.port();
  Harness h;
  const auto mode = GENERATE(ProbeMode::Watch, ProbeMode::Poll);
  INFO("mode " << (mode == ProbeMode::Watch ? "watch" : "poll"));
  h.start(make_spec(server.target(), "app", mode, 100ms));
  REQUIRE(h.wait_for(Outcome::Serving));

  const std::size_t before_down = h.entries.size();
  const auto down_at = SteadyClock::now();
  server.shutdown();
  REQUIRE(h.tick_for(Outcome::Unreachable, before_down));
  const std::size_t unreachable = *h.find(Outcome::Unreachable, before_down);
  std::size_t first_failure = before_down;
  while (h.entries[first_failure].result.ok()) ++first_failure;
  // Promptly: a Watch stream that ended is reopened once without reporting, but a reopen that
  // fails is reported at once, and never later than the timeout (3 s here), plus slack.
  WARN("first failure " << ms_between(down_at, h.entries[first_failure].at)
                        << " ms after the shutdown began, "
                        << to_string(h.entries[first_failure].result.outcome));
  CHECK(h.entries[first_failure].at - down_at < 3s + 5s);
  // Failures keep coming while it is down: with nothing listening they are Unreachable. A call
  // caught by the shutdown itself may end otherwise (how is gRPC's choice), but it is a failure.
  REQUIRE(h.tick_for_count(unreachable + 4));
  {
    INFO(h.dump());
    for (std::size_t i = first_failure; i < unreachable; ++i) {
      CHECK_FALSE(h.entries[i].result.ok());
    }
    for (std::size_t i = unreachable; i < h.entries.size(); ++i) {
      CHECK(h.entries[i].result.outcome == Outcome::Unreachable);
    }
  }

  const std::size_t before_up = h.entries.size();
  server.set_status("app", HealthCheckResponse::SERVING);
  // The port is free again, but any process on this machine may take it for a moment (an
  // ephemeral port of some connection): try again for a while before giving up.
  const auto start_by = SteadyClock::now() + 5s;
  for (;;) {
    try {
      server.start(port);
      break;
    } catch (const std::exception& e) {
      if (SteadyClock::now() >= start_by)
        FAIL("cannot listen on port " << port << " again: " << e.what());
      run_for(h.io, 100ms);
    }
  }
  REQUIRE(server.port() == port);
  const auto restarted = SteadyClock::now();
  REQUIRE(h.tick_for(Outcome::Serving, before_up));
  WARN("recovered " << ms_between(restarted, h.entries[*h.find(Outcome::Serving, before_up)].at)
                    << " ms after the restart");
  if (mode == ProbeMode::Watch) CHECK(server.watch_calls() >= 1);
}

TEST_CASE("watch: a server ending healthy streams is not a failure") {
  using grpc::StatusCode;
  const StatusCode code = GENERATE(StatusCode::OK, StatusCode::UNAVAILABLE);
  INFO("streams end with " << registrar::probe::status_code_name(code));
  HealthServerFixture server;
  server.set_status("app", HealthCheckResponse::SERVING);
  Harness h;
  // A long interval, so that every result here comes from a stream.
  h.start(make_spec(server.target(), "app", ProbeMode::Watch, 30s, 3s));
  REQUIRE(h.wait_for_count(1));

  constexpr int kRotations = 4;
  for (int i = 0; i < kRotations; ++i) {
    // Let the stream live past the prober's 1 s "ended at once" guard.
    h.pass_time(1200ms);
    const std::size_t mark = h.entries.size();
    const int calls = server.watch_calls();
    server.end_watch_streams(code);
    // The next result is the reopened stream's first message.
    REQUIRE(h.wait_for_count(mark + 1));
    CHECK(server.watch_calls() == calls + 1);
  }
  INFO(h.dump());
  CHECK(h.entries.size() == kRotations + 1);
  CHECK(h.count(Outcome::Serving) == h.entries.size());  // no failure, ever
  CHECK(server.watch_calls() == kRotations + 1);
  CHECK(server.check_calls() == 0);
}

TEST_CASE("watch: rotation by the server's max connection age (GOAWAY) is not a failure") {
  HealthServerFixture::Options options;
  options.max_connection_age = 2000ms;  // gRPC adds +-10% jitter
  options.max_connection_age_grace = 300ms;
  HealthServerFixture server(options);
  server.set_status("app", HealthCheckResponse::SERVING);
  // Real time: the server ages its connections by its own clock, and the prober must measure
  // its streams' lives on one that passes alike.
  Harness h(Harness::Time::Real);
  h.start(make_spec(server.target(), "app", ProbeMode::Watch, 30s, 3s));

  // Three connections have been closed under a stream, and each new stream reported.
  REQUIRE(h.wait_for_count(4, 30s));
  INFO(h.dump());
  CHECK(h.count(Outcome::Serving) == h.entries.size());
  CHECK(server.watch_calls() >= 4);
  WARN(h.entries.size() << " results from " << server.watch_calls() << " Watch streams in "
                        << ms_between(h.entries.front().at, h.entries.back().at) << " ms");
}

TEST_CASE("watch: the last status is not repeated while a reopened stream is pending") {
  HealthServerFixture server;
  server.set_status("app", HealthCheckResponse::SERVING);
  Harness h;
  // The interval is longer than the timeout, so that the end of the stream is seen well before
  // the next repeat would fall due even under TSan on a loaded machine; a reopen waits
  // min(timeout, interval).
  h.start(make_spec(server.target(), "app", ProbeMode::Watch, 5s, 2s));
  REQUIRE(h.wait_for_count(1));  // the first message
  REQUIRE(h.tick_for_count(2));  // and its repeat

  // Right after a repeat, so that the next one falls due while the reopened stream is silent.
  const std::size_t mark = h.entries.size();
  const int calls = server.watch_calls();
  server.set_silent_watch(true);
  server.end_watch_streams(grpc::StatusCode::OK);
  // The prober has seen the end once it has reopened; only then does its clock move on.
  REQUIRE(run_until(h.io, [&] { return server.watch_calls() == calls + 1; }));
  REQUIRE(h.tick_for(Outcome::Timeout, mark));
  INFO(h.dump());
  const std::size_t timeout_at = *h.find(Outcome::Timeout, mark);
  CHECK(timeout_at == mark);  // no stale SERVING before it
  CHECK(h.entries[timeout_at].result.detail == "no Watch response within 2000ms");

  // Then as any broken stream: failures until a stream answers again.
  server.set_silent_watch(false);
  REQUIRE(h.tick_for(Outcome::Serving, timeout_at));
  CHECK(h.count(Outcome::Serving, timeout_at) >= 1);
}

TEST_CASE("watch: streams ended at once twice in a row are failures, with backoff") {
  HealthServerFixture server;
  server.set_status("app", HealthCheckResponse::SERVING);
  server.set_watch_ends_after_first(true);
  Harness h;
  h.start(make_spec(server.target(), "app", ProbeMode::Watch, 30s, 3s));

  REQUIRE(h.wait_for(Outcome::Unreachable));
  const std::size_t first_failure = *h.find(Outcome::Unreachable);
  INFO(h.dump());
  CHECK(h.entries[0].result.outcome == Outcome::Serving);
  CHECK(first_failure >= 1);  // the first end was bridged by a reopen...
  CHECK(first_failure <= 3);  // ...but not the following ones
  CHECK(h.entries[first_failure].result.detail == "stream closed by server (watch)");

  // No tight loop: reconnects are paced by the backoff.
  const int calls_before = server.watch_calls();
  h.pass_time(2s);
  // What those 2 s started may still be on its way (gRPC's answers take real time on a loaded
  // machine); the clock stands still meanwhile, so nothing more is started.
  run_until(h.io, [&] { return h.count(Outcome::Unreachable) >= 2; });
  const int calls = server.watch_calls() - calls_before;
  WARN(calls << " Watch calls in 2 s of streams ending at once");
  CHECK(calls <= 20);
  CHECK(h.count(Outcome::Unreachable) >= 2);
}

TEST_CASE("slow Check gives Timeout, and calls never overlap") {
  HealthServerFixture server;
  server.set_status("app", HealthCheckResponse::SERVING);
  server.set_slow_check(true);
  Harness h;
  // Interval far shorter than the timeout: overlapping calls would show up at the server.
  h.start(make_spec(server.target(), "app", ProbeMode::Poll, 20ms, 500ms));

  REQUIRE(h.tick_for_count(3));
  INFO(h.dump());
  CHECK(h.count(Outcome::Timeout) == h.entries.size());
  CHECK(h.entries[0].result.detail.rfind("DEADLINE_EXCEEDED", 0) == 0);
  CHECK(server.checks_in_progress() <= 1);
  CHECK(static_cast<std::size_t>(server.check_calls()) <= h.entries.size() + 1);

  // Fast again: Serving.
  server.set_slow_check(false);
  const std::size_t mark = h.entries.size();
  REQUIRE(h.tick_for(Outcome::Serving, mark));
}

TEST_CASE("watch without a first message within the timeout: Timeout, then retry") {
  HealthServerFixture server;
  server.set_status("app", HealthCheckResponse::SERVING);
  server.set_silent_watch(true);
  Harness h;
  h.start(make_spec(server.target(), "app", ProbeMode::Watch, 1s, 500ms));

  REQUIRE(h.tick_for(Outcome::Timeout));
  CHECK(h.entries[0].result.outcome == Outcome::Timeout);
  CHECK(h.entries[0].result.detail == "no Watch response within 500ms");
  CHECK(h.entries[0].on_clock == Clock::time_point{} + 500ms);  // neither sooner nor later
  // It cancels and opens a new stream.
  REQUIRE(h.tick_until([&] { return server.watch_calls() >= 2; }));

  server.set_silent_watch(false);
  REQUIRE(h.tick_for(Outcome::Serving));
  CHECK(h.entries.back().result.detail == "SERVING (watch)");
}

TEST_CASE("no callback after stop()") {
  HealthServerFixture server;
  server.set_status("app", HealthCheckResponse::SERVING);
  Harness h;

  SECTION("watch, stopped between results") {
    h.start(make_spec(server.target(), "app", ProbeMode::Watch, 50ms));
    REQUIRE(h.wait_for_count(1));
    REQUIRE(h.tick_for_count(2));
    h.prober->stop();
    const std::size_t at_stop = h.entries.size();
    server.set_status("app", HealthCheckResponse::NOT_SERVING);  // would be pushed
    // Every timer and call finishes, and none of them reports anything.
    REQUIRE(drain(h.io));
    CHECK(h.entries.size() == at_stop);
    CHECK(h.find(Outcome::NotServing) == std::nullopt);
  }
  SECTION("poll, stopped from inside the callback") {
    h.prober = make_grpc_health_prober(
        h.io.get_executor(), make_spec(server.target(), "app", ProbeMode::Poll, 10ms), h.clock);
    int calls = 0;
    h.prober->start([&](const Result&) {
      ++calls;
      h.prober->stop();
    });
    REQUIRE(run_until(h.io, [&] { return calls >= 1; }));
    REQUIRE(drain(h.io));
    CHECK(calls == 1);
  }
  SECTION("stop() twice, and start() after stop() does nothing") {
    h.start(make_spec(server.target(), "app", ProbeMode::Poll, 50ms));
    REQUIRE(h.wait_for_count(1));
    h.prober->stop();
    h.prober->stop();
    h.prober->start([&](const Result& r) { h.record(r); });
    const std::size_t at_stop = h.entries.size();
    REQUIRE(drain(h.io));
    CHECK(h.entries.size() == at_stop);
  }
}

TEST_CASE("destroying the prober mid-call is clean") {
  HealthServerFixture server;
  server.set_status("app", HealthCheckResponse::SERVING);
  Harness h;

  SECTION("Check in flight, destroyed without stop()") {
    server.set_slow_check(true);
    h.start(make_spec(server.target(), "app", ProbeMode::Poll, 100ms, 8s));
    REQUIRE(run_until(h.io, [&] { return server.checks_in_progress() == 1; }));
    h.prober.reset();
    // The cancelled call finishes long before its 8 s deadline, reporting nothing.
    const auto destroyed = SteadyClock::now();
    REQUIRE(drain(h.io));
    WARN("in-flight Check finished " << ms_between(destroyed, SteadyClock::now())
                                     << " ms after destruction");
    CHECK(SteadyClock::now() - destroyed < 5s);
    CHECK(h.entries.empty());
    REQUIRE(run_until(h.io, [&] { return server.checks_in_progress() == 0; }));
  }
  SECTION("Watch stream open, stopped then destroyed at once") {
    h.start(make_spec(server.target(), "app", ProbeMode::Watch, 30s));
    REQUIRE(h.wait_for_count(1));
    h.prober->stop();
    h.prober.reset();
    REQUIRE(drain(h.io));
    CHECK(h.entries.size() == 1);
  }
  SECTION("Watch just opened, destroyed before anything came back") {
    h.start(make_spec(server.target(), "app", ProbeMode::Watch, 30s));
    h.prober.reset();
    REQUIRE(drain(h.io));
    CHECK(h.entries.empty());
  }
}

TEST_CASE("an empty probe target falls back to address:port") {
  HealthServerFixture server;
  server.set_status("app", HealthCheckResponse::SERVING);
  Harness h;
  ServiceSpec spec = make_spec("", "app", ProbeMode::Poll, 100ms);
  spec.address = "127.0.0.1";
  spec.port = static_cast<std::uint16_t>(server.port());
  h.start(spec);
  REQUIRE(h.wait_for_count(1));
  CHECK(h.entries[0].result.outcome == Outcome::Serving);
}

TEST_CASE("watch: a server whose open stream goes silent and whose Check hangs is a Timeout") {
  HealthServerFixture server;
  server.set_status("app", HealthCheckResponse::SERVING);
  Harness h;
  // The probe timeout also bounds the first Watch answer, connection included: 1 s leaves room
  // for that under TSan on a loaded machine (300 ms did not, once in CI's TSan run).
  h.start(make_spec(server.target(), "app", ProbeMode::Watch, 100ms, 1s));
  REQUIRE(h.wait_for_count(1));
  REQUIRE(h.tick_for_count(2));
  INFO(h.dump());
  CHECK(h.count(Outcome::Serving) == h.entries.size());

  // Hung (or SIGSTOPped): the stream stays open and says nothing, and a Check gets no answer.
  const std::size_t mark = h.entries.size();
  server.set_slow_check(true);
  REQUIRE(h.tick_for(Outcome::Timeout, mark));
  const std::size_t timeout_at = *h.find(Outcome::Timeout, mark);
  CHECK(h.entries[timeout_at].result.detail.find("no answer to Check within 1000ms") !=
        std::string::npos);
  CHECK(server.watch_calls() == 1);  // the stream itself never broke
  REQUIRE(h.tick_until([&] { return h.count(Outcome::Timeout, mark) >= 2; }));

  // Answering again: the stream's status counts again.
  server.set_slow_check(false);
  REQUIRE(h.tick_for(Outcome::Serving, h.entries.size()));
  CHECK(h.entries.back().result.detail == "SERVING (watch)");
}

TEST_CASE("watch: the streams of one channel share one liveness Check per interval") {
  HealthServerFixture server;
  server.set_status("app", HealthCheckResponse::SERVING);
  constexpr std::size_t kProbers = 10;
  // A 1 s probe timeout: it also bounds the first Watch answers, connection included, of ten
  // streams starting together (300 ms was too short once under TSan in CI).
  ManualClock clock;
  clock.drive_timers(true);
  boost::asio::io_context io;
  std::vector<std::vector<Result>> seen(kProbers);
  std::vector<std::unique_ptr<Prober>> probers;
  for (std::size_t i = 0; i < kProbers; ++i) {
    probers.push_back(make_grpc_health_prober(
        io.get_executor(), make_spec(server.target(), "app", ProbeMode::Watch, 100ms, 1s), clock));
    probers.back()->start([&seen, i](const Result& r) { seen[i].push_back(r); });
  }
  auto each_has = [&](auto pred) { return std::all_of(seen.begin(), seen.end(), pred); };
  // Six results each: the first from the stream, five repeats each confirmed by a Check.
  REQUIRE(run_until(io, [&] { return each_has([](const auto& v) { return v.size() >= 1; }); }));
  REQUIRE(
      tick_until(io, clock, [&] { return each_has([](const auto& v) { return v.size() >= 6; }); }));
  std::size_t repeats = 0;
  for (const auto& v : seen) {
    repeats += v.size() - 1;
    for (const auto& r : v) CHECK(r.outcome == Outcome::Serving);
  }
  const int checks = server.check_calls();
  INFO("repeats " << repeats << ", Check calls " << checks);
  CHECK(checks >= 1);
  // One Check per prober and repeat would be `repeats`; shared, about one per interval.
  CHECK(static_cast<std::size_t>(checks) * 3 <= repeats);

  // Hung: every prober on the channel still reports the unanswered Check.
  std::vector<std::size_t> marks;
  for (const auto& v : seen) marks.push_back(v.size());
  server.set_slow_check(true);
  REQUIRE(tick_until(io, clock, [&] {
    for (std::size_t i = 0; i < kProbers; ++i) {
      if (std::none_of(seen[i].begin() + static_cast<std::ptrdiff_t>(marks[i]), seen[i].end(),
                       [](const Result& r) { return r.outcome == Outcome::Timeout; }))
        return false;
    }
    return true;
  }));
  server.set_slow_check(false);
  for (auto& p : probers) p->stop();
  probers.clear();
  CHECK(drain(io));
}

TEST_CASE("watch: the liveness Check is sent at the liveness interval, not at every repeat") {
  HealthServerFixture server;
  server.set_status("app", HealthCheckResponse::SERVING);
  Harness h;
  // The defaults: interval 1s and the default liveness interval.
  ServiceSpec spec = make_spec(server.target(), "app", ProbeMode::Watch, 1s, 1s);
  spec.probe.liveness_interval = registrar::config::ProbeSpec{}.liveness_interval;
  const Clock::duration liveness = spec.probe.liveness_interval;
  REQUIRE(liveness > 1s);
  h.start(spec);
  REQUIRE(h.wait_for_count(1));  // the stream's first message: a sign of life
  const auto first = h.entries.front().on_clock;
  // Two and a half liveness intervals of repeats.
  REQUIRE(h.tick_until(
      [&] { return h.entries.back().on_clock - first >= 2 * liveness + liveness / 2; }));
  INFO(h.dump());
  CHECK(h.count(Outcome::Serving) == h.entries.size());
  for (std::size_t i = 1; i < h.entries.size(); ++i) {
    // Every repeat one interval after the last: the repeats without a Check do not wait.
    CHECK(h.entries[i].on_clock - h.entries[i - 1].on_clock == 1s);
  }
  const auto elapsed = h.entries.back().on_clock - first;
  const int checks = server.check_calls();
  INFO("repeats " << h.entries.size() - 1 << ", Check calls " << checks);
  // One Check per liveness interval of silence, where one per repeat would be elapsed / interval.
  CHECK(checks == static_cast<int>(elapsed / liveness));
  CHECK(server.watch_calls() == 1);
}

TEST_CASE("watch: a hung server is a Timeout within liveness interval + interval + timeout") {
  HealthServerFixture server;
  server.set_status("app", HealthCheckResponse::SERVING);
  Harness h;
  constexpr Millis kInterval = 100ms;
  constexpr Millis kLiveness = 1s;
  ServiceSpec spec = make_spec(server.target(), "app", ProbeMode::Watch, kInterval, 1s);
  spec.probe.liveness_interval = kLiveness;
  h.start(spec);
  REQUIRE(h.wait_for_count(1));
  // Past the first liveness Check, which was answered: the server is alive.
  REQUIRE(h.tick_until([&] { return server.check_calls() >= 1 && h.entries.size() >= 15; }));
  CHECK(h.count(Outcome::Serving) == h.entries.size());

  // Hung (or SIGSTOPped): the stream stays open and silent, a Check gets no answer. On the
  // prober's clock (which stands still while gRPC's real-time deadline runs out) the Timeout
  // comes within one liveness interval and one interval of the last sign of life; in the daemon
  // the Check's timeout adds to that.
  const std::size_t mark = h.entries.size();
  const auto hung_at = h.manual.now();
  server.set_slow_check(true);
  REQUIRE(h.tick_for(Outcome::Timeout, mark));
  const std::size_t first_timeout = *h.find(Outcome::Timeout, mark);
  INFO(h.dump());
  CHECK(h.entries[first_timeout].on_clock - hung_at <= kLiveness + kInterval);
  CHECK(h.entries[first_timeout].result.detail.find("no answer to Check within 1000ms") !=
        std::string::npos);
  for (std::size_t i = mark; i < first_timeout; ++i) {
    CHECK(h.entries[i].result.outcome == Outcome::Serving);
  }
  // Suspected: every repeat asks again, with a Check of its own (an unanswered one is never
  // reused), so `fall` failures come one interval (and one timeout) apart, not one liveness
  // interval apart.
  const int checks_at_first_timeout = server.check_calls();
  REQUIRE(h.tick_until([&] { return h.count(Outcome::Timeout, mark) >= 3; }));
  for (std::size_t i = first_timeout + 1; i < h.entries.size(); ++i) {
    CHECK(h.entries[i].result.outcome == Outcome::Timeout);
    CHECK(h.entries[i].on_clock - h.entries[i - 1].on_clock == kInterval);
  }
  CHECK(server.check_calls() >=
        checks_at_first_timeout + static_cast<int>(h.entries.size() - first_timeout - 1));
  CHECK(server.watch_calls() == 1);  // the stream itself never broke

  // Answering again: the stream's status counts again at the next repeat's Check, within one
  // interval (and that Check's round trip), not a liveness interval later.
  server.set_slow_check(false);
  const std::size_t healed = h.entries.size();
  const auto healed_at = h.manual.now();
  REQUIRE(h.tick_for(Outcome::Serving, healed));
  const std::size_t serving = *h.find(Outcome::Serving, healed);
  CHECK(h.entries[serving].result.detail == "SERVING (watch)");
  CHECK(h.entries[serving].on_clock - healed_at <= 2 * kInterval);
}

TEST_CASE("watch: a status change is reported at once, whatever the liveness interval") {
  HealthServerFixture server;
  server.set_status("app", HealthCheckResponse::SERVING);
  Harness h;
  ServiceSpec spec = make_spec(server.target(), "app", ProbeMode::Watch, 1s, 1s);
  spec.probe.liveness_interval = registrar::config::ProbeSpec{}.liveness_interval;
  h.start(spec);
  REQUIRE(h.wait_for_count(1));
  const std::size_t before = h.entries.size();
  const auto changed_at = SteadyClock::now();
  server.set_status("app", HealthCheckResponse::NOT_SERVING);
  REQUIRE(h.wait_for(Outcome::NotServing, before));  // the clock standing still
  WARN("NOT_SERVING seen " << ms_between(changed_at, h.entries.back().at)
                           << " ms after the change");
  CHECK(server.check_calls() == 0);
}
