// `grpc-registrar probe ADDR`: one grpc.health.v1 Check, for a Docker HEALTHCHECK or a
// Kubernetes exec probe of the application itself. Exit codes follow grpc-health-probe so that
// scripts can switch: 0 SERVING, 1 invalid arguments, 2 connection failure, 3 RPC failure,
// 4 any status other than SERVING.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "config/duration.hpp"
#include "grpc/health/v1/health.grpc.pb.h"
#include "probe/grpc_health_prober.hpp"

namespace registrar::cli {

namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

std::string seconds_text(config::Duration d) {
  return config::format_duration(d);
}

}  // namespace

void add_probe_options(CLI::App& cmd, ProbeOptions& o) {
  cmd.add_option("address", o.address, "host:port of the gRPC server (or unix:PATH)")
      ->type_name("ADDR")
      ->required();
  cmd.add_option("--service", o.service,
                 "grpc.health.v1 service name to check (default \"\": the whole server)");
  cmd.add_option("--connect-timeout", o.connect_timeout, "Deadline for connecting")
      ->type_name("DURATION")
      ->capture_default_str();
  cmd.add_option("--rpc-timeout", o.rpc_timeout, "Deadline for the Check call")
      ->type_name("DURATION")
      ->capture_default_str();
  cmd.add_flag("-v,--verbose", o.verbose, "Print timings on stderr");
}

int probe_once(const ProbeOptions& o) {
  auto duration = [](const std::string& flag,
                     const std::string& text) -> std::optional<config::Duration> {
    std::string why;
    auto d = config::parse_duration(text, why);
    if (!d || d->count() == 0) {
      std::fprintf(stderr, "error: %s: invalid duration \"%s\"%s\n", flag.c_str(), text.c_str(),
                   why.empty() ? " (must be above 0)" : (": " + why).c_str());
      return std::nullopt;
    }
    return d;
  };
  const auto connect_timeout = duration("--connect-timeout", o.connect_timeout);
  if (!connect_timeout) return kProbeInvalidArguments;
  const auto rpc_timeout = duration("--rpc-timeout", o.rpc_timeout);
  if (!rpc_timeout) return kProbeInvalidArguments;
  if (o.address.empty()) {
    std::fprintf(stderr, "error: ADDR must not be empty\n");
    return kProbeInvalidArguments;
  }

  const auto start = std::chrono::steady_clock::now();
  auto elapsed_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start)
        .count();
  };
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  args.SetUserAgentPrefix("grpc-registrar-probe");
  auto channel = grpc::CreateCustomChannel(o.address, grpc::InsecureChannelCredentials(), args);

  // Connect: READY, or fail at the first TRANSIENT_FAILURE (connection refused fails at once
  // instead of waiting out the timeout), or at the deadline.
  const auto connect_deadline = std::chrono::system_clock::now() + *connect_timeout;
  for (int i = 0; i < 1000; ++i) {  // bounded: each wait ends at a state change or the deadline
    const grpc_connectivity_state state = channel->GetState(/*try_to_connect=*/true);
    if (state == GRPC_CHANNEL_READY) break;
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) {
      std::fprintf(stderr, "error: failed to connect service at \"%s\": connection failed\n",
                   o.address.c_str());
      return kProbeConnectionFailure;
    }
    if (!channel->WaitForStateChange(state, connect_deadline)) {
      std::fprintf(stderr, "timeout: failed to connect service \"%s\" within %s\n",
                   o.address.c_str(), seconds_text(*connect_timeout).c_str());
      return kProbeConnectionFailure;
    }
  }
  if (channel->GetState(false) != GRPC_CHANNEL_READY) {
    std::fprintf(stderr, "error: failed to connect service at \"%s\"\n", o.address.c_str());
    return kProbeConnectionFailure;
  }
  const auto connected_ms = elapsed_ms();

  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + *rpc_timeout);
  HealthCheckRequest req;
  req.set_service(o.service);
  HealthCheckResponse resp;
  const grpc::Status status = stub->Check(&ctx, req, &resp);
  if (o.verbose) {
    std::fprintf(stderr, "connected in %lld ms, Check answered in %lld ms\n",
                 static_cast<long long>(connected_ms),
                 static_cast<long long>(elapsed_ms() - connected_ms));
  }
  if (!status.ok()) {
    switch (status.error_code()) {
      case grpc::StatusCode::UNIMPLEMENTED:
        std::fprintf(stderr,
                     "error: this server does not implement the grpc health protocol "
                     "(grpc.health.v1.Health): %s\n",
                     status.error_message().c_str());
        break;
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        std::fprintf(stderr, "timeout: health rpc did not complete within %s\n",
                     seconds_text(*rpc_timeout).c_str());
        break;
      case grpc::StatusCode::NOT_FOUND:
        std::fprintf(stderr, "error: health rpc failed: NOT_FOUND: unknown service \"%s\"\n",
                     o.service.c_str());
        break;
      default:
        std::fprintf(stderr, "error: health rpc failed: %s: %s\n",
                     probe::status_code_name(status.error_code()), status.error_message().c_str());
    }
    return kProbeRpcFailure;
  }
  if (resp.status() != HealthCheckResponse::SERVING) {
    std::fprintf(stderr, "service unhealthy (responded with \"%s\")\n",
                 HealthCheckResponse::ServingStatus_Name(resp.status()).c_str());
    return kProbeUnhealthy;
  }
  std::printf("status: SERVING\n");
  return kProbeServing;
}

}  // namespace registrar::cli
