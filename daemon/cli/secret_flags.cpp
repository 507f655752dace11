#include "cli/secret_flags.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

namespace registrar::cli {

namespace {

bool looks_secret(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static constexpr std::array<std::string_view, 6> kWords{"token",  "password",   "passwd",
                                                          "secret", "credential", "apikey"};
  return std::any_of(kWords.begin(), kWords.end(),
                     [&](std::string_view w) { return lower.find(w) != std::string::npos; });
}

std::string_view flag_name(std::string_view arg) {
  const auto eq = arg.find('=');
  return eq == std::string_view::npos ? arg : arg.substr(0, eq);
}

// "scheme://user:password@host..." has a password.
bool url_with_password(std::string_view v) {
  const auto scheme = v.find("://");
  if (scheme == std::string_view::npos) return false;
  const auto rest = v.substr(scheme + 3);
  const auto at = rest.find('@');
  const auto slash = rest.find('/');
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) return false;
  return rest.substr(0, at).find(':') != std::string_view::npos;
}

}  // namespace

std::string secret_flag(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--") break;
    if (!a.starts_with("--")) continue;
    const std::string_view name = flag_name(a);
    if (name.ends_with("-file")) continue;  // --token-file names a file
    if (looks_secret(name.substr(2))) return std::string(name);
  }
  return "";
}

std::vector<std::string> secret_value_warnings(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") break;
    std::string_view name = flag_name(a);
    std::string value;
    if (a.find('=') != std::string::npos && a.starts_with("--")) {
      value = a.substr(a.find('=') + 1);
    } else if (i + 1 < args.size()) {
      value = args[i + 1];
    }
    if (name == "--meta") {
      const std::string key = value.substr(0, value.find('='));
      if (looks_secret(key)) {
        out.push_back("--meta " + key +
                      ": this looks like a secret; meta is stored in the registry in clear and "
                      "shows in ps");
      }
    }
    if ((name == "--consul" || name == "--etcd") && url_with_password(value)) {
      out.push_back(std::string(name) +
                    ": a password in the URL shows in ps and shell history; use "
                    "CONSUL_HTTP_TOKEN_FILE or --token-file");
    }
  }
  return out;
}

}  // namespace registrar::cli
