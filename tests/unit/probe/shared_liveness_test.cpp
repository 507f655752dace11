// SharedLiveness: one Check answers every asker on a channel, and a Check's last references are
// dropped on the asker's executor, never on the gRPC thread that completed it.
#include "probe/shared_liveness.hpp"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/prefer.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <thread>

#include "runtime/clock.hpp"
#include "unit/probe/health_server_fixture.hpp"

using namespace std::chrono_literals;
using registrar::probe::SharedLiveness;
using TimePoint = registrar::runtime::Clock::time_point;
using registrar::test::HealthServerFixture;
using HealthCheckResponse = grpc::health::v1::HealthCheckResponse;

namespace {

boost::asio::any_io_executor tracked(boost::asio::io_context& io) {
  return boost::asio::prefer(io.get_executor(), boost::asio::execution::outstanding_work.tracked);
}

// Waits (bounded) until `flag` is set.
bool wait_set(const std::atomic<bool>& flag, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!flag.load()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

}  // namespace

TEST_CASE("shared liveness: one instance per channel, kept while someone holds it") {
  HealthServerFixture server;
  auto channel = grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials());
  auto other = grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials());
  auto a = SharedLiveness::for_channel(channel);
  CHECK(SharedLiveness::for_channel(channel) == a);
  CHECK(SharedLiveness::for_channel(other) != a);
  std::weak_ptr<SharedLiveness> weak = a;
  a.reset();
  CHECK(weak.expired());
}

TEST_CASE("shared liveness: a finished Check answers a later asker within its interval") {
  HealthServerFixture server;
  server.set_status("", HealthCheckResponse::SERVING);
  boost::asio::io_context io;
  auto share = SharedLiveness::for_channel(
      grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials()));

  registrar::runtime::ManualClock clock;
  std::atomic<bool> first{false};
  grpc::StatusCode first_code = grpc::StatusCode::UNKNOWN;
  const auto asked_at = clock.now();
  CHECK(
      share->ask("", 3s, clock, asked_at - 1s, tracked(io), [&](const grpc::Status& s, TimePoint) {
        first_code = s.error_code();
        first = true;
      }) != 0);
  REQUIRE(wait_set(first));
  CHECK(first_code == grpc::StatusCode::OK);

  // Answered at once (ticket 0) from the finished Check, which started after `not_before`, with
  // that Check's start: what the answer proves is that the server was alive then.
  clock.advance(500ms);
  bool second = false;
  TimePoint second_started{};
  CHECK(share->ask("", 3s, clock, asked_at - 1s, tracked(io),
                   [&](const grpc::Status& s, TimePoint started) {
                     second = s.ok();
                     second_started = started;
                   }) == 0);
  CHECK(second);
  CHECK(second_started == asked_at);
  CHECK(server.check_calls() == 1);

  // A Check older than the asker's interval does not count: a new one is made.
  clock.advance(1500ms);
  std::atomic<bool> third{false};
  CHECK(share->ask("", 3s, clock, clock.now() - 1s, tracked(io),
                   [&](const grpc::Status&, TimePoint) { third = true; }) != 0);
  REQUIRE(wait_set(third));
  CHECK(server.check_calls() == 2);
  io.run_for(5s);  // the Checks' last references; returns once none is left
  CHECK(io.stopped());
}

// Dropping the last reference to a grpc::Channel on a gRPC callback thread tears down the
// completion queue that thread serves: a double free inside libgrpc, seen under load in the
// prober tests. The Check's last reference to the SharedLiveness (which holds the channel) must
// therefore be released on the asker's executor.
TEST_CASE("shared liveness: the last reference of a finished Check is released on the executor") {
  HealthServerFixture server;
  server.set_status("", HealthCheckResponse::SERVING);
  boost::asio::io_context io;
  auto share = SharedLiveness::for_channel(
      grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials()));
  std::weak_ptr<SharedLiveness> weak = share;

  registrar::runtime::ManualClock clock;
  std::atomic<bool> answered{false};
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;  // written before `answered` is set
  const std::uint64_t ticket =
      share->ask("", 3s, clock, clock.now(), tracked(io), [&](const grpc::Status& s, TimePoint) {
        code = s.error_code();
        answered = true;
      });
  CHECK(ticket != 0);
  share.reset();  // only the Check in flight holds it now
  REQUIRE(wait_set(answered));
  CHECK(code == grpc::StatusCode::OK);

  // The gRPC thread has finished with the call; nothing was released there.
  std::this_thread::sleep_for(200ms);
  CHECK_FALSE(weak.expired());

  // Running the executor drops the last references (and so the channel) on this thread.
  CHECK(io.run_one_for(5s) == 1);
  CHECK(weak.expired());
  CHECK(io.run_for(1s) == 0);
}
