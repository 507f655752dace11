#include "support/hello_service.hpp"

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <optional>

#include "grpc/health/v1/health.grpc.pb.h"
#include "support/paths.hpp"
#include "support/ports.hpp"
#include "support/require.hpp"
#include "support/wait.hpp"

using namespace registrar::test;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

namespace {

// One grpc.health.v1 Check; nullopt on any RPC error.
std::optional<HealthCheckResponse::ServingStatus> check_health(
    const std::string& target, const std::string& service,
    std::chrono::milliseconds deadline = std::chrono::seconds(2)) {
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  HealthCheckRequest req;
  req.set_service(service);
  HealthCheckResponse resp;
  if (!stub->Check(&ctx, req, &resp).ok()) return std::nullopt;
  return resp.status();
}

bool have_hello_service() {
  return need(hello_service_bin().has_value(),
              "hello-service binary not found (target hello-service, or "
              "$REGISTRAR_TEST_HELLO_SERVICE_BIN)");
}

constexpr auto kServing = HealthCheckResponse::SERVING;
constexpr auto kNotServing = HealthCheckResponse::NOT_SERVING;

}  // namespace

TEST_CASE("hello_service: starts on a kernel-chosen port and answers health checks",
          "[hello_service]") {
  if (!have_hello_service()) return;
  HelloService hello;
  REQUIRE(hello.port() != 0);
  CHECK(hello.target() == "127.0.0.1:" + std::to_string(hello.port()));
  CHECK(port_accepts(hello.port()));
  CHECK(check_health(hello.target(), "") == kServing);
  CHECK(hello.terminate().exited_with(0));
}

TEST_CASE("hello_service: set_serving flips every name by signal", "[hello_service]") {
  if (!have_hello_service()) return;
  HelloServiceOptions options;
  options.services = {"alpha"};
  HelloService hello(options);
  REQUIRE(check_health(hello.target(), "alpha") == kServing);
  hello.set_serving(false);
  CHECK(wait_until([&] { return check_health(hello.target(), "") == kNotServing; }, 10s));
  CHECK(wait_until([&] { return check_health(hello.target(), "alpha") == kNotServing; }, 10s));
  hello.set_serving(true);
  CHECK(wait_until([&] { return check_health(hello.target(), "") == kServing; }, 10s));
  CHECK(wait_until([&] { return check_health(hello.target(), "alpha") == kServing; }, 10s));
}

TEST_CASE("hello_service: set_status flips one name only", "[hello_service]") {
  if (!have_hello_service()) return;
  HelloServiceOptions options;
  options.services = {"alpha", "beta"};
  HelloService hello(options);
  hello.set_status("alpha", false);
  CHECK(check_health(hello.target(), "alpha") == kNotServing);
  CHECK(check_health(hello.target(), "beta") == kServing);
  hello.set_status("alpha", true);
  CHECK(check_health(hello.target(), "alpha") == kServing);
}

TEST_CASE("hello_service: --not-serving starts NOT_SERVING", "[hello_service]") {
  if (!have_hello_service()) return;
  HelloServiceOptions options;
  options.not_serving = true;
  HelloService hello(options);
  CHECK(check_health(hello.target(), "") == kNotServing);
  hello.set_serving(true);
  CHECK(wait_until([&] { return check_health(hello.target(), "") == kServing; }, 10s));
}

TEST_CASE("hello_service: set_hang makes Check time out, and answer again when off",
          "[hello_service]") {
  if (!have_hello_service()) return;
  HelloService hello;
  hello.set_hang(true);
  CHECK_FALSE(check_health(hello.target(), "", 300ms).has_value());  // deadline exceeded
  hello.set_hang(false);
  CHECK(wait_until([&] { return check_health(hello.target(), "") == kServing; }, 10s));
}
