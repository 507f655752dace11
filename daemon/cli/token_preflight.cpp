#include "cli/token_preflight.hpp"

#include <sys/stat.h>

#include <cstdio>

#include "runtime/token_file.hpp"

namespace registrar::cli {

namespace {

// "registry.consul.token_file (/x)" -> "registry.consul.token_file"; "CONSUL_HTTP_TOKEN_FILE (/x)"
// -> "CONSUL_HTTP_TOKEN_FILE".
std::string field_of(const config::ConsulSpec& c) {
  const auto paren = c.token_source.find(" (");
  return paren == std::string::npos || paren == 0 ? "registry.consul.token_file"
                                                  : c.token_source.substr(0, paren);
}

}  // namespace

TokenFileFinding check_token_file(const config::Manifest& m) {
  TokenFileFinding out;
  const config::ConsulSpec& c = m.registry.consul;
  if (m.registry.kind != config::RegistryKind::Consul || c.token_file.empty()) return out;
  std::string why;
  // No logged warning here: `check` prints world_readable itself, and `run` logs it when the
  // backend reads the file.
  const auto file = runtime::read_token_file(c.token_file, why, "");
  if (!file) {
    out.error = field_of(c) + ": cannot read " + c.token_file + ": " + why;
    return out;
  }
  struct stat st {};
  if (::stat(c.token_file.c_str(), &st) == 0 && (st.st_mode & S_IROTH) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    out.world_readable = field_of(c) + " " + c.token_file +
                         " is readable by every local user (mode " + mode +
                         "); it holds a secret: chmod o-r it";
  }
  if (file->empty) {
    out.warning = field_of(c) + " " + c.token_file + " is empty: " +
                  (c.token.empty() ? "requests go without an ACL token (anonymous)"
                                   : "the inline token (registry.consul.token or "
                                     "CONSUL_HTTP_TOKEN) is used instead");
  }
  return out;
}

}  // namespace registrar::cli
