// resolve --check: one grpc.health.v1.Health/Check on every instance, all at once, with
// `probe`'s timeouts and TLS.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "cli/instance_output.hpp"
#include "config/manifest.hpp"
#include "discovery/instance.hpp"

namespace registrar::cli {

// Checks `service` ("" = the whole server) on each instance of `set`, in parallel, each within
// connect_timeout + rpc_timeout, and returns when all have answered or failed. A failure's
// status is the gRPC code (UNAVAILABLE, DEADLINE_EXCEEDED, UNIMPLEMENTED, ...).
CheckResults check_instances(const discovery::InstanceSet& set, const std::string& service,
                             const config::TlsSpec& tls,
                             const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                             config::Duration connect_timeout, config::Duration rpc_timeout);

}  // namespace registrar::cli
