#include "runtime/bounded_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace registrar::runtime {

std::optional<std::string> read_bounded_file(const std::string& path, std::size_t max_bytes,
                                             std::string& error) {
  // O_NONBLOCK: opening a FIFO that no process writes to would otherwise wait for a writer
  // forever. Reads then block as usual (a pipe from `<(command)` is read to its end), and a FIFO
  // without a writer reads as empty.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  if (const int flags = ::fcntl(fd, F_GETFL);
      flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
    error = std::strerror(errno);
    ::close(fd);
    return std::nullopt;
  }
  std::optional<std::string> content = read_bounded_fd(fd, max_bytes, error);
  ::close(fd);
  return content;
}

std::optional<std::string> read_bounded_fd(int fd, std::size_t max_bytes, std::string& error) {
  std::string content;
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) return content;
    content.append(buf, static_cast<std::size_t>(n));
    if (content.size() > max_bytes) {
      error = "larger than " + std::to_string(max_bytes) + " bytes";
      return std::nullopt;
    }
  }
}

}  // namespace registrar::runtime
