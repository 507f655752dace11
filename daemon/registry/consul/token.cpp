#include "registry/consul/token.hpp"

#include <algorithm>

#include "config/effective.hpp"
#include "registry/consul/consul_api.hpp"
#include "runtime/redact.hpp"
#include "runtime/token_file.hpp"

namespace registrar::registry::consul {

Token::Token(const config::ConsulSpec& spec, ReadFile read)
    : inline_token_(spec.token),
      file_(spec.token_file),
      source_(spec.token_source),
      read_(std::move(read)),
      value_(spec.token) {}

std::string Token::load() {
  if (file_.empty()) return "";
  std::string error;
  std::optional<std::string> content = read_(file_, error);
  // The default reader (read_file) has checked and trimmed it already; an injected one gets the
  // same checks here.
  std::optional<runtime::TokenFile> token;
  if (content) token = runtime::parse_token(*content, error);
  if (!token) return "cannot read token file " + file_ + ": " + error;
  from_file_ = !token->empty;
  value_ = from_file_ ? token->token : inline_token_;
  return "";
}

std::string Token::source() const {
  if (from_file_) return source_;
  if (!file_.empty() && !inline_token_.empty())
    return "registry.consul.token or CONSUL_HTTP_TOKEN (the token file " + file_ + " is empty)";
  if (value_.empty()) {
    if (!file_.empty()) return "no ACL token: the token file " + file_ + " is empty";
    return "no ACL token configured";
  }
  return source_;
}

std::string Token::scrub(std::string_view text) const {
  std::string out = runtime::redact(text, value_, config::kRedacted);
  // The inline token too, when a file's token is in use: the agent may echo either.
  if (from_file_ && !inline_token_.empty())
    out = runtime::redact(out, inline_token_, config::kRedacted);
  return out;
}

std::string Token::describe(int status, std::string_view body) const {
  // Redact, then cut: describe_answer keeps the first line's first 200 bytes. A window that long
  // plus a token's length holds every occurrence that could start within those bytes, and
  // keeps redaction linear in a bounded size whatever the body's.
  constexpr std::size_t kWindow = 4096;
  const std::size_t longest = std::max(value_.size(), inline_token_.size());
  return describe_answer(status, scrub(body.substr(0, std::min(body.size(), kWindow + longest))));
}

std::optional<std::string> Token::read_file(const std::string& path, std::string& error) {
  // The checks of every token file (runtime/token_file.hpp): a regular file, one line, within
  // the limit; the reason alone in `error`, load() names the path.
  std::optional<runtime::TokenFile> file =
      runtime::read_token_file(path, error, "the Consul ACL token file");
  if (!file) return std::nullopt;
  return file->token;
}

}  // namespace registrar::registry::consul
