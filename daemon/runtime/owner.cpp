#include "runtime/owner.hpp"

#include <unistd.h>

#include <filesystem>
#include <system_error>

namespace registrar::runtime {

std::string default_owner(const std::string& manifest_path) {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::error_code ec;
  const std::filesystem::path path = std::filesystem::absolute(manifest_path, ec);
  return std::string(host) + ":" + (ec ? manifest_path : path.lexically_normal().string());
}

}  // namespace registrar::runtime
