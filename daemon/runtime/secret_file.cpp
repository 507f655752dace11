#include "runtime/secret_file.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdio>
#include <mutex>
#include <set>

#include "runtime/bounded_file.hpp"

namespace registrar::runtime {

bool world_readable(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  return (st.st_mode & S_IROTH) != 0;
}

bool warn_if_world_readable(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & S_IROTH) == 0) return false;
  static std::mutex mu;
  static std::set<std::string> warned;
  {
    std::lock_guard lock(mu);
    if (!warned.insert(path).second) return false;
  }
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  spdlog::warn("{}{}{} is readable by every local user (mode {}); it holds a secret: chmod o-r it",
               what, what.empty() ? "" : " ", path, mode);
  return true;
}

std::optional<std::string> read_secret_file(const std::string& path, std::string& error,
                                            const SecretReadOptions& options) {
  std::string why;
  std::optional<std::string> content = read_bounded_file(path, options.max_bytes, why);
  if (!content) {
    error = path + ": " + why;
    return std::nullopt;
  }
  warn_if_world_readable(path, options.what);
  if (options.trim_trailing_newlines) {
    while (!content->empty() && (content->back() == '\n' || content->back() == '\r')) {
      content->pop_back();
    }
  }
  return content;
}

}  // namespace registrar::runtime
