// The subcommands. Each returns the process exit code (cli/exit_codes.hpp).
#pragma once

#include <string>

#include "cli/logging.hpp"

namespace registrar::cli {

struct RunOptions {
  std::string config_path;
  LogOptions log;
};

// `grpc-registrar run`: the daemon. Returns when deregistration is finished.
int run_daemon(const RunOptions& options);

// `grpc-registrar check`: validate the manifest and print the effective configuration.
int check_manifest(const std::string& config_path);

// Parses argv and dispatches.
int main(int argc, char** argv);

}  // namespace registrar::cli
