// A prober watches one service's health and reports each result. Implementations deliver every
// callback on the executor they were given, never on a gRPC thread.
#pragma once

#include <functional>
#include <string>

namespace registrar::probe {

enum class Outcome {
  Serving,         // SERVING
  NotServing,      // NOT_SERVING
  Unknown,         // UNKNOWN
  ServiceUnknown,  // SERVICE_UNKNOWN (Watch) or NOT_FOUND (Check)
  Unreachable,     // connection refused/lost, stream broken
  Timeout,         // deadline exceeded
  RpcError,        // any other failed RPC (after Watch UNIMPLEMENTED we fall back to Check)
};

struct Result {
  Outcome outcome = Outcome::Unknown;
  std::string detail;  // human-readable, e.g. "NOT_SERVING via Watch" or the gRPC error
  bool ok() const { return outcome == Outcome::Serving; }
};

const char* to_string(Outcome o);

class Prober {
 public:
  using Callback = std::function<void(const Result&)>;
  virtual ~Prober() = default;
  // Starts probing; every result (each Watch message, each Check answer, each failure, and in
  // watch mode the current streamed status again every interval) is passed to `on_result`.
  virtual void start(Callback on_result) = 0;
  // Cancels all calls and timers. No callback runs after stop() returns. Never blocks on the
  // probed service.
  virtual void stop() = 0;
};

}  // namespace registrar::probe
