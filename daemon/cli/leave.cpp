#include "cli/leave.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>

namespace registrar::cli {

void leave(int code) {
  spdlog::shutdown();
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(code);
}

}  // namespace registrar::cli
