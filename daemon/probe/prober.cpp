#include "probe/prober.hpp"

namespace registrar::probe {

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::Serving:
      return "serving";
    case Outcome::NotServing:
      return "not_serving";
    case Outcome::Unknown:
      return "unknown";
    case Outcome::ServiceUnknown:
      return "service_unknown";
    case Outcome::Unreachable:
      return "unreachable";
    case Outcome::Timeout:
      return "timeout";
    case Outcome::RpcError:
      return "rpc_error";
  }
  return "invalid";
}

}  // namespace registrar::probe
