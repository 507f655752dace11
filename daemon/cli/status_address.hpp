// Where a running daemon's status server is, for `drain` and `status`: --status-address, else
// the manifest's status.listen (wildcards mean loopback).
#pragma once

#include <optional>
#include <string>

#include "config/listen_address.hpp"

namespace registrar::cli {

// On failure prints one line to stderr prefixed with `command` and sets `exit_code` (64 for a
// bad or missing address, 78 for a bad manifest).
std::optional<config::ListenAddress> find_status_address(const std::string& command,
                                                         const std::string& flag_value,
                                                         const std::string& config_path,
                                                         int& exit_code);

}  // namespace registrar::cli
