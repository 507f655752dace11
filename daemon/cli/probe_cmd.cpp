// `grpc-registrar probe ADDR`: one grpc.health.v1 Check, for a Docker HEALTHCHECK or a
// Kubernetes exec probe of the application itself. Exit codes follow grpc-health-probe so that
// scripts can switch: 0 SERVING, 1 invalid arguments, 2 connection failure, 3 RPC failure,
// 4 any status other than SERVING. TLS: --tls and the --tls-* flags, as grpc-health-probe's; a
// failed handshake is a connection failure (2), unusable TLS files are invalid arguments (1).
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/flag_duration.hpp"
#include "config/duration.hpp"
#include "grpc/health/v1/health.grpc.pb.h"
#include "probe/grpc_health_prober.hpp"
#include "probe/tls_credentials.hpp"
#include "probe/tls_failure.hpp"
#include "runtime/grpc_deadline.hpp"

namespace registrar::cli {

namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

std::string seconds_text(config::Duration d) {
  return config::format_duration(d);
}

const probe::TlsSettingNames& flag_names() {
  return probe_tls_flag_names();
}

}  // namespace

const probe::TlsSettingNames& probe_tls_flag_names() {
  static const probe::TlsSettingNames names{"--tls", "--tls-ca-cert", "--tls-client-cert",
                                            "--tls-client-key", "--tls-server-name"};
  return names;
}

std::optional<config::TlsSpec> probe_tls_spec(const ProbeOptions& o) {
  config::TlsSpec tls;
  const std::pair<const char*, const std::string*> flags[] = {
      {"--tls-ca-cert", &o.tls_ca_cert},
      {"--tls-client-cert", &o.tls_client_cert},
      {"--tls-client-key", &o.tls_client_key},
      {"--tls-server-name", &o.tls_server_name}};
  for (const auto& [flag, value] : flags) {
    if (!value->empty() && !o.tls) {
      std::fprintf(stderr, "error: %s needs --tls\n", flag);
      return std::nullopt;
    }
  }
  if (o.tls_client_cert.empty() != o.tls_client_key.empty()) {
    std::fprintf(stderr, "error: --tls-client-cert and --tls-client-key go together\n");
    return std::nullopt;
  }
  tls.enabled = o.tls;
  tls.ca_file = o.tls_ca_cert;
  tls.cert_file = o.tls_client_cert;
  tls.key_file = o.tls_client_key;
  tls.server_name = o.tls_server_name;
  return tls;
}

namespace {

// Why connecting failed, from a call on the failed channel (it fails at once with gRPC's last
// connection error): the TLS explanation if there is one, else gRPC's text.
std::string connect_failure_reason(const std::shared_ptr<grpc::Channel>& channel,
                                   const config::TlsSpec& tls) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(runtime::grpc_deadline_after(std::chrono::milliseconds(500)));
  HealthCheckRequest req;
  HealthCheckResponse resp;
  const grpc::Status status = stub->Check(&ctx, req, &resp);
  if (status.ok()) return "connection failed";
  const std::string grpc_text = probe::connection_error_text(status.error_message());
  if (auto why = probe::explain_tls_failure(status, tls, flag_names())) {
    return *why + " [" + grpc_text + "]";
  }
  return grpc_text.empty() ? "connection failed" : grpc_text;
}

}  // namespace

void add_probe_options(CLI::App& cmd, ProbeOptions& o) {
  cmd.add_option("address", o.address, "host:port of the gRPC server (or unix:PATH)")
      ->type_name("ADDR")
      ->required();
  cmd.add_option("--service", o.service,
                 "grpc.health.v1 service name to check (default \"\": the whole server)");
  cmd.add_flag("-v,--verbose", o.verbose, "Print timings on stderr");
  add_health_check_flags(cmd, o);
}

void add_health_check_flags(CLI::App& cmd, ProbeOptions& o) {
  cmd.add_option("--connect-timeout", o.connect_timeout, "Deadline for connecting")
      ->type_name("DURATION")
      ->capture_default_str();
  cmd.add_option("--rpc-timeout", o.rpc_timeout, "Deadline for the Check call")
      ->type_name("DURATION")
      ->capture_default_str();
  cmd.add_flag(
      "--tls", o.tls,
      "Use TLS; the server's certificate must be signed by --tls-ca-cert, or by one of the "
      "system's roots");
  cmd.add_option("--tls-ca-cert", o.tls_ca_cert,
                 "PEM CA bundle that signed the server's certificate")
      ->type_name("FILE");
  cmd.add_option("--tls-client-cert", o.tls_client_cert,
                 "PEM client certificate, for servers that require one (mTLS)")
      ->type_name("FILE");
  cmd.add_option("--tls-client-key", o.tls_client_key, "PEM private key of --tls-client-cert")
      ->type_name("FILE");
  cmd.add_option("--tls-server-name", o.tls_server_name,
                 "Name the server's certificate must carry (default: the host of ADDR)")
      ->type_name("NAME");
}

namespace {

// Connects: READY, or fails at the first TRANSIENT_FAILURE (connection refused fails at once
// instead of waiting out the timeout), or at the deadline. kProbeServing when connected, else
// kProbeConnectionFailure (printed).
int connect_channel(const std::shared_ptr<grpc::Channel>& channel, const std::string& address,
                    const config::TlsSpec& tls, config::Duration timeout) {
  const auto deadline = runtime::grpc_deadline_after(timeout);
  for (int i = 0; i < 1000; ++i) {  // bounded: each wait ends at a state change or the deadline
    const grpc_connectivity_state state = channel->GetState(/*try_to_connect=*/true);
    if (state == GRPC_CHANNEL_READY) break;
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) {
      std::fprintf(stderr, "error: failed to connect service at \"%s\": %s\n", address.c_str(),
                   connect_failure_reason(channel, tls).c_str());
      return kProbeConnectionFailure;
    }
    if (!channel->WaitForStateChange(state, deadline)) {
      std::fprintf(stderr, "timeout: failed to connect service \"%s\" within %s\n", address.c_str(),
                   seconds_text(timeout).c_str());
      return kProbeConnectionFailure;
    }
  }
  if (channel->GetState(false) != GRPC_CHANNEL_READY) {
    std::fprintf(stderr, "error: failed to connect service at \"%s\"\n", address.c_str());
    return kProbeConnectionFailure;
  }
  return kProbeServing;
}

// The failed Check, in grpc-health-probe's words.
void report_rpc_failure(const grpc::Status& status, const std::string& service,
                        config::Duration rpc_timeout) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNIMPLEMENTED:
      std::fprintf(stderr,
                   "error: this server does not implement the grpc health protocol "
                   "(grpc.health.v1.Health): %s\n",
                   status.error_message().c_str());
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      std::fprintf(stderr, "timeout: health rpc did not complete within %s\n",
                   seconds_text(rpc_timeout).c_str());
      break;
    case grpc::StatusCode::NOT_FOUND:
      std::fprintf(stderr, "error: health rpc failed: NOT_FOUND: unknown service \"%s\"\n",
                   service.c_str());
      break;
    default:
      std::fprintf(stderr, "error: health rpc failed: %s: %s\n",
                   probe::status_code_name(status.error_code()), status.error_message().c_str());
  }
}

}  // namespace

int probe_once(const ProbeOptions& o) {
  auto duration = [](const std::string& flag,
                     const std::string& text) -> std::optional<config::Duration> {
    std::string why;
    auto d = flag_duration(flag, text, why);
    if (!d) std::fprintf(stderr, "error: %s\n", why.c_str());
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
  const auto tls = probe_tls_spec(o);
  if (!tls) return kProbeInvalidArguments;
  std::string tls_error;
  const auto credentials = probe::make_channel_credentials(*tls, tls_error, flag_names());
  if (!credentials) {
    std::fprintf(stderr, "error: %s\n", tls_error.c_str());
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
  probe::apply_tls_arguments(*tls, args);
  auto channel = grpc::CreateCustomChannel(o.address, credentials, args);

  if (const int code = connect_channel(channel, o.address, *tls, *connect_timeout);
      code != kProbeServing)
    return code;
  const auto connected_ms = elapsed_ms();

  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(runtime::grpc_deadline_after(*rpc_timeout));
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
    report_rpc_failure(status, o.service, *rpc_timeout);
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
