// `grpc-registrar status`: asks a running daemon how it is, through its status server. Made for
// health checks (Docker's HEALTHCHECK, a Kubernetes exec probe of the sidecar): exit 0 when the
// daemon answers /healthz (or /readyz with --ready), 1 when it does not. Prints /v1/services.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/status_address.hpp"
#include "config/duration.hpp"
#include "status/http_client.hpp"

namespace registrar::cli {

void add_status_options(CLI::App& cmd, ClientOptions& o) {
  cmd.add_option("--status-address", o.status_address,
                 "The daemon's status server (default: status.listen of the manifest given by "
                 "-c)")
      ->type_name("HOST:PORT");
  cmd.add_flag("--ready", o.ready, "Exit 1 unless the daemon is ready (/readyz)");
  cmd.add_flag("-q,--quiet", o.quiet, "Print nothing; the exit code says it all");
  o.timeout = "5s";
  cmd.add_option("--timeout", o.timeout, "How long to wait for each answer")
      ->type_name("DURATION")
      ->capture_default_str();
}

int daemon_status(const ClientOptions& o, const std::string& config_path, bool /*config_given*/) {
  std::string why;
  const auto timeout = config::parse_duration(o.timeout, why);
  if (!timeout || timeout->count() == 0) {
    std::fprintf(stderr, "grpc-registrar status: --timeout: invalid duration \"%s\"\n",
                 o.timeout.c_str());
    return kExitUsage;
  }
  int code = kExitOk;
  const auto address = find_status_address("status", o.status_address, config_path, code);
  if (!address) return code;
  std::string error;
  const std::string check = o.ready ? "/readyz" : "/healthz";
  const auto r = status::http_request(address->host, address->port, "GET", check, *timeout, error);
  if (!r) {
    if (!o.quiet) std::fprintf(stderr, "grpc-registrar status: %s\n", error.c_str());
    return kStatusUnhealthy;
  }
  if (!o.quiet) {
    const auto services =
        status::http_request(address->host, address->port, "GET", "/v1/services", *timeout, error);
    if (services && services->status == 200) std::printf("%s", services->body.c_str());
    if (r->status != 200) std::fprintf(stderr, "grpc-registrar status: %s", r->body.c_str());
  }
  return r->status == 200 ? kStatusHealthy : kStatusUnhealthy;
}

}  // namespace registrar::cli
