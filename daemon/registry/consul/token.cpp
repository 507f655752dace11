#include "registry/consul/token.hpp"

#include <cstring>

#include "config/effective.hpp"
#include "runtime/secret_file.hpp"

namespace registrar::registry::consul {

namespace {

std::string trimmed(const std::string& s) {
  const char* ws = " \t\r\n";
  const auto first = s.find_first_not_of(ws);
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(ws) - first + 1);
}

}  // namespace

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
  if (!content) return "cannot read token file " + file_ + ": " + error;
  std::string t = trimmed(*content);
  bool printable = true;
  for (char c : t) printable = printable && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
  if (!printable) return "token file " + file_ + " holds more than one line";
  from_file_ = !t.empty();
  value_ = from_file_ ? t : inline_token_;
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

std::string Token::scrub(std::string text) const {
  if (value_.empty()) return text;
  for (std::size_t at = text.find(value_); at != std::string::npos;
       at = text.find(value_, at + std::strlen(config::kRedacted))) {
    text.replace(at, value_.size(), config::kRedacted);
  }
  return text;
}

std::optional<std::string> Token::read_file(const std::string& path, std::string& error) {
  runtime::SecretReadOptions options;
  options.max_bytes = 65536;
  options.what = "the Consul ACL token file";
  std::optional<std::string> content = runtime::read_secret_file(path, error, options);
  // read_secret_file names the path ("<path>: <reason>"); load() names it already.
  if (!content && error.rfind(path + ": ", 0) == 0) error.erase(0, path.size() + 2);
  return content;
}

}  // namespace registrar::registry::consul
