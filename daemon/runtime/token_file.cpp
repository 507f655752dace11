#include "runtime/token_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/bounded_file.hpp"
#include "runtime/secret_file.hpp"

namespace registrar::runtime {

namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string too_large() {
  return "it is larger than " + std::to_string(kMaxTokenFileBytes) +
         " bytes, the limit for a token file";
}

std::string trimmed(const std::string& s) {
  const char* blanks = " \t\r\n";
  const auto first = s.find_first_not_of(blanks);
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

}  // namespace

std::optional<TokenFile> parse_token(const std::string& content, std::string& error) {
  TokenFile out;
  out.token = trimmed(content);
  out.empty = out.token.empty();
  for (char c : out.token) {
    if (c == '\n' || c == '\r') {
      error = "it holds more than one line; a token file holds the token alone";
      return std::nullopt;
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      error = "it holds a control character; a token file holds the token alone";
      return std::nullopt;
    }
  }
  return out;
}

std::optional<TokenFile> read_token_file(const std::string& path, std::string& error,
                                         const std::string& what) {
  // O_NONBLOCK: a FIFO must be refused, not waited on for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  struct stat st {};
  std::optional<std::string> content;
  if (::fstat(fd, &st) != 0) {
    error = std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    error = std::string("it is ") + kind_of(st.st_mode) + ", not a regular file";
  } else if (static_cast<std::size_t>(st.st_size) > kMaxTokenFileBytes) {
    error = too_large();
  } else {
    // Bounded again: a file that grows between fstat and read is refused, not read whole.
    content = read_bounded_fd(fd, kMaxTokenFileBytes, error);
    if (!content && error.starts_with("larger than ")) error = too_large();
  }
  ::close(fd);
  if (!content) return std::nullopt;
  std::optional<TokenFile> out = parse_token(*content, error);
  if (!out) return std::nullopt;
  // Only for a file that is used: a refused one gets its one error line, nothing more.
  if (!what.empty()) warn_if_world_readable(path, what);
  return out;
}

}  // namespace registrar::runtime
