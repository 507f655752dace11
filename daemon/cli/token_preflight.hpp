// The Consul ACL token file, checked before the daemon starts: `check` and `run` refuse the same
// files (missing, unreadable, not a regular file, larger than the limit, more than one line)
// with the same line, exit 78. An empty file is accepted: it means "no token from the file"
// (the inline token if any, else anonymous requests), which is what the systemd unit's empty
// credential says when no token is installed (docs/security.md, "Token files").
#pragma once

#include <optional>
#include <string>

#include "config/manifest.hpp"

namespace registrar::cli {

struct TokenFileFinding {
  std::string error;    // "registry.consul.token_file: cannot read /x: it is a directory, ..."
  std::string warning;  // "registry.consul.token_file /x is empty: ... no ACL token"
  // `check`'s line for a token file every local user may read; `run` logs its own
  // (runtime::warn_if_world_readable, once per file) when it reads the file.
  std::string world_readable;
};

// Nothing to say when the registry is not Consul or names no token file.
TokenFileFinding check_token_file(const config::Manifest& m);

}  // namespace registrar::cli
