// gRPC deadlines on the monotonic clock. A deadline built from std::chrono::system_clock (gRPC's
// usual idiom) is a wall-clock instant: a clock step between computing it and gRPC reading it
// would lengthen or shorten the call. Header-only, for the modules that already use gRPC.
#pragma once

#include <grpc/support/time.h>

#include <chrono>

namespace registrar::runtime {

// A deadline `d` from now, on GPR_CLOCK_MONOTONIC; pass it to ClientContext::set_deadline.
inline gpr_timespec grpc_deadline_after(std::chrono::milliseconds d) {
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                      gpr_time_from_millis(static_cast<std::int64_t>(d.count()), GPR_TIMESPAN));
}

}  // namespace registrar::runtime
