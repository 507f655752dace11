// Exit codes, after sysexits.h. Documented in docs/cli.md.
#pragma once

#include "config/error.hpp"

namespace registrar::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 64;                    // EX_USAGE: bad flags or arguments
inline constexpr int kExitSoftware = 70;                 // EX_SOFTWARE: internal error
inline constexpr int kExitConfig = config::kExitConfig;  // EX_CONFIG (78): invalid manifest
// A second SIGTERM/SIGINT during deregistration exits at once with 128 + signal number.

}  // namespace registrar::cli
