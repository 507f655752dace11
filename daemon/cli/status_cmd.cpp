// `grpc-registrar status`: asks a running daemon how it is, through its control socket (or its
// TCP status server). Made for health checks (Docker's HEALTHCHECK, a Kubernetes exec probe of
// the sidecar): exit 0 when the daemon answers /healthz (or /readyz with --ready), 1 when it
// does not. Prints /v1/services. The control socket is a separate way in, with its own
// connection limits per user, so a local user who holds the TCP server's connections cannot make
// this check fail (docs/security.md).
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/flag_duration.hpp"
#include "cli/status_address.hpp"
#include "config/duration.hpp"
#include "status/http_client.hpp"

namespace registrar::cli {

void add_status_options(CLI::App& cmd, ClientOptions& o) {
  auto* socket = cmd.add_option("--control-socket", o.control_socket,
                                "The daemon's control socket (default: status.control_socket of "
                                "the manifest given by -c, else /run/grpc-registrar/control.sock)")
                     ->type_name("PATH");
  auto* address = cmd.add_option("--status-address", o.status_address,
                                 "Ask the TCP status server at this address instead (default: "
                                 "status.listen, when no control socket answers)")
                      ->type_name("HOST:PORT");
  socket->excludes(address);
  address->excludes(socket);
  cmd.add_flag("--ready", o.ready, "Exit 1 unless the daemon is ready (/readyz)");
  cmd.add_flag("-q,--quiet", o.quiet, "Print nothing; the exit code says it all");
  o.timeout = "5s";
  cmd.add_option("--timeout", o.timeout, "How long to wait for each answer")
      ->type_name("DURATION")
      ->capture_default_str();
}

namespace {

// One GET to the daemon: on the control socket when there is one, else (or when it cannot be
// used, e.g. this user may not connect to it) on the TCP status address. Says which on stderr
// when it falls back, unless quiet.
class StatusAsker {
 public:
  StatusAsker(const StatusTarget& target, std::chrono::milliseconds timeout, bool quiet)
      : target_(target), timeout_(timeout), quiet_(quiet) {}

  std::optional<status::HttpResult> get(const std::string& path, std::string& error) {
    if (!target_.socket.empty() && !use_tcp_) {
      auto r = status::http_request_unix(target_.socket, "GET", path, timeout_, error);
      if (r || !target_.tcp) return r;
      use_tcp_ = true;
      if (!quiet_)
        std::fprintf(stderr, "grpc-registrar status: %s; asking the status server at %s\n",
                     error.c_str(), config::to_string(*target_.tcp).c_str());
    }
    if (!target_.tcp) {
      error = "no control socket at " + joined(target_.looked_at) +
              " and no status.listen with a fixed port; give --control-socket or "
              "--status-address";
      return std::nullopt;
    }
    return status::http_request(target_.tcp->host, target_.tcp->port, "GET", path, timeout_, error);
  }

 private:
  static std::string joined(const std::vector<std::string>& paths) {
    std::string out;
    for (const auto& p : paths) out += (out.empty() ? "" : " or ") + p;
    return out.empty() ? "(none configured)" : out;
  }

  const StatusTarget& target_;
  std::chrono::milliseconds timeout_;
  bool quiet_;
  bool use_tcp_ = false;
};

}  // namespace

int daemon_status(const ClientOptions& o, const std::string& config_path, bool config_given) {
  std::string why;
  const auto timeout = flag_duration("--timeout", o.timeout, why);
  if (!timeout) {
    std::fprintf(stderr, "grpc-registrar status: %s\n", why.c_str());
    return kExitUsage;
  }
  int code = kExitOk;
  const auto target =
      find_status_target("status", o, config_path, config_given, /*with_tcp=*/true, code);
  if (!target) return code;
  StatusAsker asker(*target, *timeout, o.quiet);
  std::string error;
  const auto r = asker.get(o.ready ? "/readyz" : "/healthz", error);
  if (!r) {
    if (!o.quiet) std::fprintf(stderr, "grpc-registrar status: %s\n", error.c_str());
    return kStatusUnhealthy;
  }
  if (!o.quiet) {
    const auto services = asker.get("/v1/services", error);
    if (services && services->status == 200) std::printf("%s", services->body.c_str());
    if (r->status != 200) std::fprintf(stderr, "grpc-registrar status: %s", r->body.c_str());
  }
  return r->status == 200 ? kStatusHealthy : kStatusUnhealthy;
}

}  // namespace registrar::cli
