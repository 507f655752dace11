#include "probe/health_results.hpp"

#include <string>

namespace registrar::probe {

using grpc::health::v1::HealthCheckResponse;
using ServingStatus = HealthCheckResponse::ServingStatus;

const char* status_code_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::DO_NOT_USE:
      break;
  }
  return "INVALID_STATUS_CODE";
}

Result result_from_serving_status(ServingStatus status, std::string_view via) {
  const std::string suffix = " (" + std::string(via) + ")";
  switch (status) {
    case HealthCheckResponse::SERVING:
      return {Outcome::Serving, "SERVING" + suffix};
    case HealthCheckResponse::NOT_SERVING:
      return {Outcome::NotServing, "NOT_SERVING" + suffix};
    case HealthCheckResponse::SERVICE_UNKNOWN:
      return {Outcome::ServiceUnknown, "SERVICE_UNKNOWN" + suffix};
    case HealthCheckResponse::UNKNOWN:
      return {Outcome::Unknown, "UNKNOWN" + suffix};
    default:  // a value from a newer proto than ours
      return {Outcome::Unknown,
              "unrecognised status " + std::to_string(static_cast<int>(status)) + suffix};
  }
}

namespace {

std::string error_detail(const grpc::Status& status, std::string_view via) {
  std::string detail = status_code_name(status.error_code());
  if (!status.error_message().empty()) detail += ": " + status.error_message();
  detail += " (" + std::string(via) + ")";
  return detail;
}

}  // namespace

Result result_from_check(const grpc::Status& status, ServingStatus serving) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return result_from_serving_status(serving, "check");
    case grpc::StatusCode::NOT_FOUND:
      return {Outcome::ServiceUnknown, error_detail(status, "check")};
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return {Outcome::Timeout, error_detail(status, "check")};
    case grpc::StatusCode::UNAVAILABLE:
      return {Outcome::Unreachable, error_detail(status, "check")};
    default:
      return {Outcome::RpcError, error_detail(status, "check")};
  }
}

Result result_from_watch_end(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return {Outcome::Unreachable, "stream closed by server (watch)"};
    case grpc::StatusCode::UNAVAILABLE:
      return {Outcome::Unreachable, error_detail(status, "watch")};
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return {Outcome::Timeout, error_detail(status, "watch")};
    default:
      return {Outcome::RpcError, error_detail(status, "watch")};
  }
}

}  // namespace registrar::probe
