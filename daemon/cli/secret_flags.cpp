#include "cli/secret_flags.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <initializer_list>
#include <string_view>
#include <utility>

#include "cli/command_table.hpp"

namespace registrar::cli {

namespace {

// Lower case, without '-' and '_': "--API_Key" and "--api-key" both become "apikey".
std::string folded(std::string_view name) {
  std::string out;
  for (unsigned char c : name) {
    if (c != '-' && c != '_') out.push_back(static_cast<char>(std::tolower(c)));
  }
  return out;
}

bool contains_any(const std::string& text, std::initializer_list<std::string_view> words) {
  return std::any_of(words.begin(), words.end(),
                     [&](std::string_view w) { return text.find(w) != std::string::npos; });
}

bool looks_secret(std::string_view name) {
  return contains_any(folded(name),
                      {"token", "password", "passwd", "secret", "credential", "apikey"});
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

// A secret flag that still works (with a warning), as the environment variable `variable`.
struct AcceptedFlag {
  std::array<std::string_view, 2> names;
  const char* variable;
  const char* unset;         // a variable the flag wins over, unset; nullptr = none
  const char* file_flag;     // the file flag it cannot be combined with
  const char* wins_over_it;  // what still wins over the variable
  const char* prefer;        // the better sources
};

constexpr AcceptedFlag kAccepted[] = {
    {{"--token", "--consul-token"},
     "CONSUL_HTTP_TOKEN",
     "CONSUL_HTTP_TOKEN_FILE",
     "--token-file",
     "registry.consul.token or token_file in the manifest wins over it",
     "--token-file FILE, $CONSUL_HTTP_TOKEN_FILE or $CONSUL_HTTP_TOKEN"},
    {{"--password", "--etcd-password"},
     "ETCDCTL_PASSWORD",
     nullptr,
     "--etcd-password-file",
     "registry.etcd.password_file wins over it",
     "--etcd-password-file FILE (registry.etcd.password_file in a manifest) or $ETCDCTL_PASSWORD"},
};

const AcceptedFlag* accepted_flag(std::string_view name) {
  for (const AcceptedFlag& f : kAccepted) {
    if (std::find(f.names.begin(), f.names.end(), name) != f.names.end()) return &f;
  }
  return nullptr;
}

// As the command table declares it; "" is `run`.
bool uses_registry(const std::string& subcommand) {
  const Subcommand* command = find_subcommand(subcommand.empty() ? "run" : subcommand);
  return command != nullptr && command->takes_registry_secrets;
}

}  // namespace

bool is_registry_secret_flag(std::string_view name) {
  return accepted_flag(name) != nullptr;
}

SecretArgs take_secret_args(const std::vector<std::string>& args, const std::string& subcommand) {
  SecretArgs out;
  if (!uses_registry(subcommand)) {
    out.args = args;
    return out;
  }
  std::vector<std::pair<const AcceptedFlag*, std::string>> seen;  // with the name given
  std::vector<std::string_view> plain_flags;  // every other flag name before "--"
  bool ended = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") ended = true;
    const AcceptedFlag* f = ended ? nullptr : accepted_flag(flag_name(a));
    if (f == nullptr) {
      if (!ended && a.starts_with("--")) plain_flags.push_back(flag_name(a));
      out.args.push_back(a);
      continue;
    }
    const std::string name(flag_name(a));
    if (std::any_of(seen.begin(), seen.end(), [&](const auto& s) { return s.first == f; })) {
      out.error = name + ": given more than once";
      return out;
    }
    seen.emplace_back(f, name);
    std::string value;
    if (const auto eq = a.find('='); eq != std::string::npos) {
      value = a.substr(eq + 1);
      out.value_at.emplace_back(i, eq + 1);
    } else if (i + 1 < args.size() && !args[i + 1].starts_with("--")) {
      value = args[++i];
      out.value_at.emplace_back(i, 0);
    } else {
      out.error = name + ": needs a value";
      return out;
    }
    if (value.empty()) {
      out.error = name + ": the value is empty";
      return out;
    }
    out.env.emplace_back(f->variable, value);
    if (f->unset != nullptr) out.env.emplace_back(f->unset, "");
    out.warnings.push_back(name +
                           ": a secret on the command line can be read by every local user (ps, "
                           "/proc/PID/cmdline) and stays in shell history; it is used as $" +
                           f->variable + " (" + f->wins_over_it + "); prefer " + f->prefer);
  }
  for (const auto& [f, name] : seen) {
    if (std::find(plain_flags.begin(), plain_flags.end(), f->file_flag) != plain_flags.end()) {
      out.error = name + " and " + f->file_flag + ": give one of them";
      out.env.clear();
      out.warnings.clear();
      return out;
    }
  }
  return out;
}

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

std::string secret_flag_refusal(const std::string& flag) {
  const std::string f = folded(flag);
  std::string where;
  if (contains_any(f, {"password", "passwd"})) {
    where =
        "an etcd password comes from the file named by registry.etcd.password_file, or from "
        "$ETCDCTL_PASSWORD";
  } else if (contains_any(f, {"token"})) {
    where =
        "a Consul ACL token comes from --token-file FILE, $CONSUL_HTTP_TOKEN_FILE, "
        "$CONSUL_HTTP_TOKEN or registry.consul.token_file (under systemd: LoadCredential=)";
  } else {
    where = "put it in a file the manifest names (mode 0600), or in the environment";
  }
  return flag +
         ": secrets are not accepted on the command line (every local user can read it in ps, "
         "and it stays in shell history); " +
         where;
}

namespace {

// Calls `each(name, value)` for every "--flag value" and "--flag=value" before "--".
template <typename Each>
void for_each_flag_value(const std::vector<std::string>& args, Each each) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") break;
    if (!a.starts_with("--")) continue;
    std::string value;
    if (a.find('=') != std::string::npos) {
      value = a.substr(a.find('=') + 1);
    } else if (i + 1 < args.size()) {
      value = args[i + 1];
    }
    each(flag_name(a), value);
  }
}

}  // namespace

std::string password_in_url(const std::vector<std::string>& args) {
  std::string out;
  for_each_flag_value(args, [&](std::string_view name, const std::string& value) {
    if (!out.empty() || (name != "--consul" && name != "--etcd") || !url_with_password(value)) {
      return;
    }
    out = std::string(name) +
          ": a user name and password in the URL are not supported, and would show in ps and "
          "shell history; " +
          (name == "--consul"
               ? "a Consul ACL token comes from --token-file FILE or $CONSUL_HTTP_TOKEN_FILE"
               : "an etcd password comes from --etcd-password-file FILE "
                 "(registry.etcd.password_file in a manifest) or $ETCDCTL_PASSWORD");
  });
  return out;
}

std::vector<std::string> secret_value_warnings(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for_each_flag_value(args, [&](std::string_view name, const std::string& value) {
    if (name != "--meta") return;
    const std::string key = value.substr(0, value.find('='));
    if (looks_secret(key)) {
      out.push_back("--meta " + key +
                    ": this looks like a secret; meta is stored in the registry in clear and "
                    "shows in ps");
    }
  });
  return out;
}

}  // namespace registrar::cli
