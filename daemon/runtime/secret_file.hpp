// Files that hold secrets: ACL tokens, passwords, private keys. Read on demand (so rotation is
// picked up on the next read), never logged, never quoted in a message. A file that any local
// user may read (mode o+r) gets one warning per path and process: the daemon still uses it, since
// refusing would take a service out of the registry over a permission bit.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace registrar::runtime {

struct SecretReadOptions {
  std::size_t max_bytes = 1 << 20;      // larger files are refused (a key or token is far smaller)
  bool trim_trailing_newlines = false;  // tokens and passwords: drop trailing "\n" / "\r\n"
  // What the file is, for the world-readable warning, e.g. "registry.etcd.password_file".
  std::string what;
};

// The file's content; on failure nullopt, with `error` set to a one-line reason that names the
// path and never any content (e.g. "/etc/x.key: Permission denied").
std::optional<std::string> read_secret_file(const std::string& path, std::string& error,
                                            const SecretReadOptions& options = {});

// True when the file's mode lets others (not the owner or group) read it. False when it cannot be
// stat()ed.
bool world_readable(const std::string& path);

// Logs (spdlog warn) "<what> <path> is readable by every local user (mode 0644); chmod o-r it"
// the first time it is called for `path` in this process, and returns whether it logged.
// read_secret_file calls it; exposed for tests and for `check`.
bool warn_if_world_readable(const std::string& path, const std::string& what);

}  // namespace registrar::runtime
