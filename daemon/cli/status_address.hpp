// Where a running daemon answers `drain` and `status`: the control socket (--control-socket,
// else the manifest's status.control_socket, else the default paths of
// config/status_policy.hpp, the first that exists), and for `status` also the TCP status
// address (--status-address, else status.listen; wildcards mean loopback), used when no control
// socket is there to ask or it refuses this user.
#pragma once

#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "config/listen_address.hpp"

namespace registrar::cli {

struct StatusTarget {
  std::string socket;                        // "" = none found
  std::vector<std::string> looked_at;        // the socket paths tried, for the error line
  std::optional<config::ListenAddress> tcp;  // `status` only
};

// On failure prints one line to stderr prefixed with `command` and sets `exit_code` (64 for a
// bad address, 78 for a bad manifest). `with_tcp`: also find the TCP status address. Without -c
// (`config_given` false) a manifest that does not exist is no error: the default socket paths
// are looked at, and the caller's "give --control-socket or --status-address" follows.
std::optional<StatusTarget> find_status_target(const std::string& command, const ClientOptions& o,
                                               const std::string& config_path, bool config_given,
                                               bool with_tcp, int& exit_code);

}  // namespace registrar::cli
