#include "cli/token_preflight.hpp"

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
  const auto file = runtime::read_token_file(c.token_file, why, "the Consul ACL token file");
  if (!file) {
    out.error = field_of(c) + ": cannot read " + c.token_file + ": " + why;
  } else if (file->empty) {
    out.warning = field_of(c) + " " + c.token_file + " is empty: " +
                  (c.token.empty() ? "requests go without an ACL token (anonymous)"
                                   : "the inline token (registry.consul.token or "
                                     "CONSUL_HTTP_TOKEN) is used instead");
  }
  return out;
}

}  // namespace registrar::cli
