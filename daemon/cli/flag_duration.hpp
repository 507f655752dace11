// A duration given as a command-line flag (`--timeout 5s`), read as the manifest reads one, and
// refused with the same words everywhere: `--timeout: invalid duration "5": missing unit (ms,
// s, m, h), e.g. 10s`, or `... (must be above 0)`.
#pragma once

#include <optional>
#include <string>

#include "config/duration.hpp"

namespace registrar::cli {

// A duration above zero, or nullopt with `error` set to the sentence above (without the
// "grpc-registrar <subcommand>: " prefix, which the caller adds).
std::optional<config::Duration> flag_duration(const std::string& flag, const std::string& text,
                                              std::string& error);

}  // namespace registrar::cli
