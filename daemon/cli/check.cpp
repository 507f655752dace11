#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "config/effective.hpp"
#include "config/error.hpp"
#include "config/manifest_parser.hpp"

namespace registrar::cli {

int check_manifest(const std::string& config_path) {
  try {
    const config::Manifest manifest = config::load_manifest(config_path);
    std::cout << config::render_effective(manifest) << std::flush;
    return kExitOk;
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return kExitConfig;
  }
}

}  // namespace registrar::cli
