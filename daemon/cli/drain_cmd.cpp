// `grpc-registrar drain`: tells a running daemon to deregister everything at once and keep
// running until SIGTERM, so that deregistration can precede the application's own shutdown
// (Kubernetes preStop, a load balancer's drain). Two ways:
//   - the control socket (the default): POST /v1/drain on the daemon's Unix control socket,
//     whose file mode says who may drain (the TCP status address refuses it); waits until the
//     registry confirmed, and says so in the exit code;
//   - --pid PID: SIGUSR1 to that process, once it is known to be a grpc-registrar
//     (signal_daemon.hpp); fire and forget (needs no status server, but nothing confirms the
//     result).
#include <signal.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/flag_duration.hpp"
#include "cli/signal_daemon.hpp"
#include "cli/status_address.hpp"
#include "status/http_client.hpp"

namespace registrar::cli {

void add_drain_options(CLI::App& cmd, ClientOptions& o) {
  auto* address = cmd.add_option("--control-socket", o.control_socket,
                                 "The daemon's control socket (default: status.control_socket "
                                 "of the manifest given by -c, else "
                                 "/run/grpc-registrar/control.sock)")
                      ->type_name("PATH");
  auto* pid =
      cmd.add_option(
             "--pid", o.pid,
             "Send SIGUSR1 to this process (checked to be a grpc-registrar) instead of HTTP")
          ->check(CLI::PositiveNumber);
  address->excludes(pid);
  pid->excludes(address);
  cmd.add_option("--timeout", o.timeout, "How long to wait for the daemon's answer")
      ->type_name("DURATION")
      ->capture_default_str();
}

int drain_daemon(const ClientOptions& o, const std::string& config_path, bool config_given) {
  if (o.pid > 0) {
    if (const std::string why = signal_daemon(o.pid, SIGUSR1); !why.empty()) {
      std::fprintf(stderr, "grpc-registrar drain: %s\n", why.c_str());
      return kExitUnavailable;
    }
    std::printf("sent SIGUSR1 to process %d\n", o.pid);
    return kExitOk;
  }
  std::string why;
  const auto timeout = flag_duration("--timeout", o.timeout, why);
  if (!timeout) {
    std::fprintf(stderr, "grpc-registrar drain: %s\n", why.c_str());
    return kExitUsage;
  }
  int code = kExitOk;
  const auto target =
      find_status_target("drain", o, config_path, config_given, /*with_tcp=*/false, code);
  if (!target) return code;
  if (target->socket.empty()) {
    std::string looked;
    for (const auto& p : target->looked_at) looked += (looked.empty() ? "" : " or ") + p;
    std::fprintf(stderr,
                 "grpc-registrar drain: no control socket at %s (the daemon opens one when its "
                 "status server is on, or status.control_socket is set); give --control-socket "
                 "or --pid\n",
                 looked.empty() ? "(status.control_socket: off)" : looked.c_str());
    return kExitUnavailable;
  }
  std::string error;
  const auto r = status::http_request_unix(target->socket, "POST", "/v1/drain", *timeout, error);
  if (!r) {
    std::fprintf(stderr, "grpc-registrar drain: %s\n", error.c_str());
    return kExitUnavailable;
  }
  if (r->status != 200) {
    std::fprintf(stderr, "grpc-registrar drain: the daemon answered %d: %s", r->status,
                 r->body.c_str());
    return kExitUnavailable;
  }
  const auto j = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  const bool clean = j.is_object() && j.value("clean", false);
  const std::string message = j.is_object() ? j.value("message", std::string()) : r->body;
  std::printf("drained: %s\n", message.c_str());
  if (!clean) {
    std::fprintf(stderr,
                 "grpc-registrar drain: deregistration not confirmed; etcd keys left expire "
                 "with their lease, Consul services left turn critical at their check TTL and "
                 "are removed after deregister_critical_after\n");
    return kExitUnavailable;
  }
  return kExitOk;
}

}  // namespace registrar::cli
