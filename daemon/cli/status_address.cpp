#include "cli/status_address.hpp"

#include <cstdio>

#include "cli/exit_codes.hpp"
#include "config/error.hpp"
#include "config/manifest_parser.hpp"

namespace registrar::cli {

std::optional<config::ListenAddress> find_status_address(const std::string& command,
                                                         const std::string& flag_value,
                                                         const std::string& config_path,
                                                         int& exit_code) {
  std::string why;
  if (!flag_value.empty()) {
    auto a = config::parse_listen_address(flag_value, why);
    if (!a) {
      std::fprintf(stderr, "grpc-registrar %s: --status-address: %s\n", command.c_str(),
                   why.c_str());
      exit_code = kExitUsage;
      return std::nullopt;
    }
    return config::connect_address(*a);
  }
  config::Manifest m;
  try {
    m = config::load_manifest(config_path);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    exit_code = kExitConfig;
    return std::nullopt;
  }
  if (m.status.listen.empty()) {
    std::fprintf(stderr, "grpc-registrar %s: %s has no status.listen; give --status-address%s\n",
                 command.c_str(), config_path.c_str(), command == "drain" ? " or --pid" : "");
    exit_code = kExitUsage;
    return std::nullopt;
  }
  auto a = config::parse_listen_address(m.status.listen, why);
  if (!a || a->port == 0) {
    std::fprintf(stderr,
                 "grpc-registrar %s: status.listen %s picks a free port at start; give "
                 "--status-address\n",
                 command.c_str(), m.status.listen.c_str());
    exit_code = kExitUsage;
    return std::nullopt;
  }
  return config::connect_address(*a);
}

}  // namespace registrar::cli
