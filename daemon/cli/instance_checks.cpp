#include "cli/instance_checks.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "config/address.hpp"
#include "grpc/health/v1/health.grpc.pb.h"
#include "probe/health_results.hpp"
#include "probe/tls_credentials.hpp"
#include "runtime/grpc_deadline.hpp"

namespace registrar::cli {

namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Check in flight. Channels and calls stay owned by the caller's thread until every
// completion has run: none is released on gRPC's threads.
struct PendingCheck {
  std::string id;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::health::v1::Health::Stub> stub;
  grpc::ClientContext ctx;
  HealthCheckRequest req;
  HealthCheckResponse resp;
  std::chrono::steady_clock::time_point start;
  CheckResult result;
};

}  // namespace

CheckResults check_instances(const discovery::InstanceSet& set, const std::string& service,
                             const config::TlsSpec& tls,
                             const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                             config::Duration connect_timeout, config::Duration rpc_timeout) {
  std::mutex mu;
  std::condition_variable all_done;
  std::size_t left = set.size();
  std::vector<std::unique_ptr<PendingCheck>> checks;
  for (const auto& [id, instance] : set) {
    auto c = std::make_unique<PendingCheck>();
    c->id = id;
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    args.SetUserAgentPrefix("grpc-registrar-resolve");
    probe::apply_tls_arguments(tls, args);
    c->channel = grpc::CreateCustomChannel(config::join_host_port(instance.address, instance.port),
                                           credentials, args);
    c->stub = grpc::health::v1::Health::NewStub(c->channel);
    c->ctx.set_deadline(runtime::grpc_deadline_after(connect_timeout + rpc_timeout));
    c->req.set_service(service);
    checks.push_back(std::move(c));
  }
  for (auto& c : checks) {
    PendingCheck* check = c.get();
    check->start = std::chrono::steady_clock::now();
    check->stub->async()->Check(
        &check->ctx, &check->req, &check->resp,
        [check, &mu, &all_done, &left](grpc::Status status) {
          CheckResult r;
          r.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - check->start)
                             .count();
          if (status.ok()) {
            r.status = HealthCheckResponse::ServingStatus_Name(check->resp.status());
            r.serving = check->resp.status() == HealthCheckResponse::SERVING;
          } else {
            r.status = probe::status_code_name(status.error_code());
          }
          std::lock_guard lock(mu);
          check->result = std::move(r);
          if (--left == 0) all_done.notify_all();
        });
  }
  {
    std::unique_lock lock(mu);
    // Every call has its deadline: gRPC completes each by then; the wait is bounded by it too.
    all_done.wait_for(lock, connect_timeout + rpc_timeout + std::chrono::seconds(5),
                      [&] { return left == 0; });
    if (left != 0) {
      for (auto& c : checks) c->ctx.TryCancel();
      all_done.wait(lock, [&] { return left == 0; });
    }
  }
  CheckResults results;
  for (auto& c : checks) results[c->id] = c->result;
  return results;
}

}  // namespace registrar::cli
