// Who may reach the status server and where the control socket is: the rules shared by the
// manifest parser, --status-listen, `check`, `run`, and the `status` and `drain` commands.
// Reading (health, readiness, /v1/services, /metrics) is on the TCP status address, on loopback
// unless status.allow_remote says otherwise; acting (drain) is on the control socket, a Unix
// socket whose file mode says who may act (docs/security.md).
#pragma once

#include <string>
#include <vector>

#include "config/interpolate.hpp"
#include "config/listen_address.hpp"
#include "config/manifest.hpp"

namespace registrar::config {

// The default control socket when $RUNTIME_DIRECTORY is not set (systemd's RuntimeDirectory=
// sets it; the unit's RuntimeDirectory=grpc-registrar makes both the same path).
inline constexpr const char* kDefaultControlSocket = "/run/grpc-registrar/control.sock";
inline constexpr const char* kControlSocketName = "control.sock";

// 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. The wildcards (0.0.0.0, ::) are not loopback: they
// listen on every interface.
bool is_loopback(const ListenAddress& a);

// The one line that refuses a non-loopback listen address without allow_remote.
std::string remote_refusal(const ListenAddress& a);

// `check`'s and `run`'s warning for a non-loopback status.listen that allow_remote permits; ""
// when the status server is off or on loopback.
std::string remote_status_warning(const StatusSpec& s);

// An absolute path, or "off"; shorter than a Unix socket address allows (107 bytes).
bool valid_control_socket(const std::string& path, std::string& why);

// The control socket the daemon opens for `s`: "" when none (status.control_socket: off, or no
// status server and no explicit path); else the explicit path, else
// $RUNTIME_DIRECTORY/control.sock (its first entry), else kDefaultControlSocket.
std::string control_socket_path(const StatusSpec& s, const EnvLookup& env = process_env());

// Where `status` and `drain` look for the control socket when none is named: the explicit path
// of the manifest, else the same defaults as the daemon, in that order.
std::vector<std::string> control_socket_candidates(const StatusSpec& s,
                                                   const EnvLookup& env = process_env());

}  // namespace registrar::config
