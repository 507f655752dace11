// Reading a whole small file (a certificate, a key, a token) with a size limit, so that a wrong
// path (a device, a log file, a FIFO nobody writes to) cannot make the daemon read or wait without
// end. Secrets go through read_secret_file (secret_file.hpp), which uses this and adds its own
// checks.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace registrar::runtime {

// The limit for certificate, key and CA bundle files: a real one is a few KiB.
inline constexpr std::size_t kMaxCredentialFileBytes = 1 << 20;

// The file's content; on failure nullopt, with `error` set to the reason alone, without the path
// and never any content: strerror's text, or "larger than <max_bytes> bytes".
std::optional<std::string> read_bounded_file(const std::string& path, std::size_t max_bytes,
                                             std::string& error);

// The same for a descriptor the caller opened (and checked, e.g. with fstat) and closes: reads it
// to its end, but never more than max_bytes + 1 bytes. The same reasons on failure.
std::optional<std::string> read_bounded_fd(int fd, std::size_t max_bytes, std::string& error);

}  // namespace registrar::runtime
