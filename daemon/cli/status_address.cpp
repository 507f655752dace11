#include "cli/status_address.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>

#include "cli/exit_codes.hpp"
#include "config/error.hpp"
#include "config/manifest_parser.hpp"
#include "config/status_policy.hpp"

namespace registrar::cli {

namespace {

bool is_socket(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

// The TCP address of status.listen, when it can be connected to (a fixed port).
std::optional<config::ListenAddress> manifest_tcp(const config::Manifest& m) {
  std::string why;
  const auto a = config::parse_listen_address(m.status.listen, why);
  if (!a || a->port == 0) return std::nullopt;
  return config::connect_address(*a);
}

}  // namespace

std::optional<StatusTarget> find_status_target(const std::string& command, const ClientOptions& o,
                                               const std::string& config_path, bool config_given,
                                               bool with_tcp, int& exit_code) {
  StatusTarget t;
  std::string why;
  if (!o.control_socket.empty()) {  // named: that socket and nothing else
    if (!config::valid_control_socket(o.control_socket, why) || o.control_socket == "off") {
      std::fprintf(
          stderr, "grpc-registrar %s: --control-socket: %s\n", command.c_str(),
          o.control_socket == "off" ? "expected the path of a socket, got \"off\"" : why.c_str());
      exit_code = kExitUsage;
      return std::nullopt;
    }
    t.socket = o.control_socket;
    t.looked_at = {o.control_socket};
    return t;
  }
  if (with_tcp && !o.status_address.empty()) {  // named: that address and nothing else
    auto a = config::parse_listen_address(o.status_address, why);
    if (!a) {
      std::fprintf(stderr, "grpc-registrar %s: --status-address: %s\n", command.c_str(),
                   why.c_str());
      exit_code = kExitUsage;
      return std::nullopt;
    }
    t.tcp = config::connect_address(*a);
    return t;
  }
  config::Manifest m;
  struct stat st {};
  const bool no_manifest =
      !config_given && ::stat(config_path.c_str(), &st) != 0 && errno == ENOENT;
  try {
    if (!no_manifest) m = config::load_manifest(config_path);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    exit_code = kExitConfig;
    return std::nullopt;
  }
  for (const std::string& path : config::control_socket_candidates(m.status)) {
    t.looked_at.push_back(path);
    if (t.socket.empty() && is_socket(path)) t.socket = path;
  }
  if (with_tcp) t.tcp = manifest_tcp(m);
  return t;
}

}  // namespace registrar::cli
