#include "runtime/secret_file.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>

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
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    error = path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string content;
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = path + ": " + std::strerror(errno);
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
    if (content.size() > options.max_bytes) {
      ::close(fd);
      error = path + ": larger than " + std::to_string(options.max_bytes) + " bytes";
      return std::nullopt;
    }
  }
  ::close(fd);
  warn_if_world_readable(path, options.what);
  if (options.trim_trailing_newlines) {
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) {
      content.pop_back();
    }
  }
  return content;
}

}  // namespace registrar::runtime
