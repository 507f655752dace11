// A token file (a Consul ACL token): one regular file holding the token alone, on one line, at
// most kMaxTokenFileBytes. Each way a file can fail to be that gets its own message, naming the
// path and never the content, so that `check`, `run` and `deregister` refuse the same files with
// the same words (docs/security.md, "Token files").
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace registrar::runtime {

// A Consul ACL token is a 36-character UUID; 64 KiB leaves room for any token format while a
// wrong path (a log file, a disk image) is refused before it is read.
inline constexpr std::size_t kMaxTokenFileBytes = 65536;

struct TokenFile {
  std::string token;   // trimmed of surrounding blanks and the final newline; "" when empty
  bool empty = false;  // the file holds nothing but blanks: no token from this file
};

// The token in a token file's content: trimmed, refused with one of the reasons below when it
// spans more than one line or holds a control character. read_token_file's own check, for
// readers that get the content elsewhere (a test's injected reader).
std::optional<TokenFile> parse_token(const std::string& content, std::string& error);

// Reads the token file at `path`. On a problem returns nullopt and sets `error` to the reason
// alone, for the caller to put after "cannot read <path>: ": strerror's text ("No such file or
// directory", "Permission denied"), "it is a directory, not a regular file" (or a FIFO, a
// device, a socket), "it is larger than 65536 bytes, the limit for a token file", "it holds more
// than one line; a token file holds the token alone", "it holds a control character; ...". An
// empty file is not an error: it is reported in `empty`, and the caller says what it means.
// `what` names the file in the world-readable warning (runtime/secret_file.hpp, logged once per
// file); "" logs none (for `check`, which prints its own).
std::optional<TokenFile> read_token_file(const std::string& path, std::string& error,
                                         const std::string& what = "the token file");

}  // namespace registrar::runtime
