// The mapping from grpc.health.v1 answers on the wire (a serving status, a Check's status, the
// end of a Watch stream) to probe Results, in one place for both probing modes.
#pragma once

#include <grpcpp/support/status.h>

#include <string_view>

#include "grpc/health/v1/health.pb.h"
#include "probe/prober.hpp"

namespace registrar::probe {

// `via` ends up in the detail, e.g. "NOT_SERVING (watch)".
Result result_from_serving_status(grpc::health::v1::HealthCheckResponse::ServingStatus status,
                                  std::string_view via);
// The answer to one Check call.
Result result_from_check(const grpc::Status& status,
                         grpc::health::v1::HealthCheckResponse::ServingStatus serving);
// The end of a Watch stream (a clean end by the server, or a failure). UNIMPLEMENTED is handled
// by the prober (fallback to Check) and maps to RpcError here.
Result result_from_watch_end(const grpc::Status& status);
// "UNAVAILABLE", "DEADLINE_EXCEEDED", ...
const char* status_code_name(grpc::StatusCode code);

}  // namespace registrar::probe
