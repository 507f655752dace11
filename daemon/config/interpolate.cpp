#include "config/interpolate.hpp"

#include <cstdlib>

namespace registrar::config {
namespace {

bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

[[noreturn]] void fail(const std::string& why) {
  throw InterpolationError(why);
}

// The literal default of "${VAR:-text}": "$$" becomes '$'; braces and other '$' are refused.
std::string expand_default(std::string_view text, std::string_view ref) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '{') {
      fail("nested braces in \"" + std::string(ref) + "\" are not supported");
    }
    if (c == '$') {
      if (i + 1 < text.size() && text[i + 1] == '{') {
        fail("nested braces in \"" + std::string(ref) + "\" are not supported");
      }
      if (i + 1 < text.size() && text[i + 1] == '$') {
        out += '$';
        ++i;
        continue;
      }
      fail("nested references in \"" + std::string(ref) +
           "\" are not supported (write $$ for a literal $)");
    }
    out += c;
  }
  return out;
}

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::string interpolate(std::string_view text, const EnvLookup& env) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c != '$') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (i + 1 >= text.size() || text[i + 1] != '{') {
      fail("a '$' must start ${VAR} or ${VAR:-default} (write $$ for a literal $)");
    }
    std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      fail("unterminated \"" + std::string(text.substr(i)) + "\" (missing '}')");
    }
    std::string_view ref = text.substr(i, close + 1 - i);
    std::string_view body = text.substr(i + 2, close - i - 2);
    std::size_t sep = body.find(":-");
    std::string_view name = body.substr(0, sep);
    if (name.empty()) fail("empty variable name in \"" + std::string(ref) + "\"");
    bool valid = is_name_start(name.front());
    for (char n : name) valid = valid && is_name_char(n);
    if (!valid) {
      if (name.find('{') != std::string_view::npos || name.find('$') != std::string_view::npos) {
        fail("nested braces in \"" + std::string(ref) + "\" are not supported");
      }
      fail("invalid variable reference \"" + std::string(ref) +
           "\" (use ${VAR} or ${VAR:-default}; VAR is letters, digits and '_')");
    }
    std::optional<std::string> value = env ? env(std::string(name)) : std::nullopt;
    if (sep == std::string_view::npos) {
      if (!value) {
        fail("environment variable " + std::string(name) + " is not set (use ${" +
             std::string(name) + ":-default} for a fallback)");
      }
      out += *value;
    } else {
      std::string fallback = expand_default(body.substr(sep + 2), ref);
      out += value && !value->empty() ? *value : fallback;
    }
    i = close + 1;
  }
  return out;
}

std::string escape_interpolation(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    out += c;
    if (c == '$') out += '$';
  }
  return out;
}

}  // namespace registrar::config
