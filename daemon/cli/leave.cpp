#include "cli/leave.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>

#include "cli/json_stderr.hpp"

namespace registrar::cli {

void leave(int code) {
  spdlog::shutdown();
  std::fflush(stdout);
  std::fflush(stderr);
  finish_json_stderr();  // --log-format json: the last lines, converted, before the exit
  std::_Exit(code);
}

}  // namespace registrar::cli
