// Exit codes, after sysexits.h. Documented in docs/cli.md.
#pragma once

#include "config/error.hpp"

namespace registrar::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 64;                    // EX_USAGE: bad flags or arguments
inline constexpr int kExitUnavailable = 69;              // EX_UNAVAILABLE: a registry or a running
                                                         // daemon could not be reached
inline constexpr int kExitSoftware = 70;                 // EX_SOFTWARE: internal error
inline constexpr int kExitHandover = 75;                 // EX_TEMPFAIL: SIGUSR2 left every entry
                                                         // registered for the next run to adopt
inline constexpr int kExitConfig = config::kExitConfig;  // EX_CONFIG (78): invalid manifest
// A second SIGTERM/SIGINT during deregistration exits at once with 128 + signal number.

// `probe` follows grpc-health-probe instead, so that scripts written for it keep working.
inline constexpr int kProbeServing = 0;
inline constexpr int kProbeInvalidArguments = 1;
inline constexpr int kProbeConnectionFailure = 2;
inline constexpr int kProbeRpcFailure = 3;
inline constexpr int kProbeUnhealthy = 4;

// `status` is made for health checks (Docker's HEALTHCHECK treats any status but 0 and 1 as
// reserved): 0 the daemon answers (and is ready, with --ready), 1 it does not.
inline constexpr int kStatusHealthy = 0;
inline constexpr int kStatusUnhealthy = 1;

}  // namespace registrar::cli
