// The ACL token sent to the Consul agent, and where it comes from. The value is only ever put in
// the X-Consul-Token header: never logged, never in a URL, never in a message.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/manifest.hpp"

namespace registrar::registry::consul {

class Token {
 public:
  // Reads a whole file; on failure returns nullopt and sets `error` (e.g. strerror).
  // read_file() is runtime::read_token_file (a regular file of one line within its limit; a
  // world-readable file gets one warning), returning the token trimmed.
  using ReadFile =
      std::function<std::optional<std::string>(const std::string& path, std::string& error)>;

  Token(const config::ConsulSpec& spec, ReadFile read = read_file);

  // (Re-)reads the token file, if there is one. The file is preferred; when it is empty the
  // inline token (if any) is used, as Consul's own tools do. Returns "" on success, else why the
  // file could not be read (the previous value is kept).
  std::string load();

  const std::string& value() const { return value_; }
  // Where the token in use comes from, for messages: "registry.consul.token_file (/etc/x)",
  // "CONSUL_HTTP_TOKEN", or "no ACL token configured".
  std::string source() const;

  // `text` with every occurrence of the token, in any letter case, and every run of at least
  // runtime::kMinRedactedPrefix characters that starts it, replaced by "<redacted>": for texts
  // that come from outside (the agent's answers) before they are logged.
  std::string scrub(std::string_view text) const;
  // describe_answer(status, body) of an agent's answer, redacted before it is cut.
  std::string describe(int status, std::string_view body) const;

  static std::optional<std::string> read_file(const std::string& path, std::string& error);

 private:
  std::string inline_token_;
  std::string file_;
  std::string source_;
  ReadFile read_;
  std::string value_;
  bool from_file_ = false;
};

}  // namespace registrar::registry::consul
