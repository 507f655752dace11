// Secrets should not travel on the command line: argv is visible to every local user (ps,
// /proc/PID/cmdline) and ends up in shell history. Two such flags still work, with a warning
// (take_secret_args): --token/--consul-token (a Consul ACL token) and --password/--etcd-password
// (an etcd password); each is used exactly as the environment variable would be. Every other flag
// whose name looks like a secret is refused (exit 64) with a pointer to the file and environment
// alternatives. No message ever repeats a value; values that look like secrets in ordinary flags
// draw a warning.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace registrar::cli {

// What take_secret_args made of argv (without argv[0]).
struct SecretArgs {
  // The arguments without the accepted secret flags and their values.
  std::vector<std::string> args;
  // Variables to set before anything reads the environment (an empty value: unset it), e.g.
  // {"CONSUL_HTTP_TOKEN", token}, {"CONSUL_HTTP_TOKEN_FILE", ""}: the flag wins over a file
  // variable, as Consul's own -token flag does.
  std::vector<std::pair<std::string, std::string>> env;
  // One line per accepted flag, without the program's name; never the value.
  std::vector<std::string> warnings;
  // Where the values are in the input (argument index, offset of the value in it), so that the
  // caller can overwrite them in argv and /proc/PID/cmdline stops showing them.
  std::vector<std::pair<std::size_t, std::size_t>> value_at;
  // Non-empty: a usage error (a missing value, a flag given twice, --token with --token-file),
  // one line without the program's name; never a value.
  std::string error;
};

// Takes --token/--consul-token VALUE (or =VALUE) and --password/--etcd-password VALUE out of
// `args` (everything before "--"), for the subcommands that use a registry: those the command
// table (command_table.hpp) declares with takes_registry_secrets, and "" (run). Other
// subcommands keep them in `args`, where secret_flag() finds them.
//   --token X     as CONSUL_HTTP_TOKEN=X with CONSUL_HTTP_TOKEN_FILE unset: the manifest's token
//                 or token_file still wins over it, as over the variable; with --token-file it
//                 is an error.
//   --password X  as ETCDCTL_PASSWORD=X: registry.etcd.password_file still wins over it; with
//                 --etcd-password-file it is an error.
SecretArgs take_secret_args(const std::vector<std::string>& args, const std::string& subcommand);

// Whether `name` (without "=value") is one of the flags take_secret_args takes: --token,
// --consul-token, --password, --etcd-password. Each takes a value.
bool is_registry_secret_flag(std::string_view name);

// The first argument that is a secret-looking flag ("--token", "--consul-token=...",
// "--password", "--api-key"), or "" when there is none; only the name, never "=value".
// "--token-file" is fine: it names a file.
std::string secret_flag(const std::vector<std::string>& args);

// The refusal of `flag` (as secret_flag returned it), one line without the program's name: why,
// and where that kind of secret comes from instead (a Consul token: --token-file,
// CONSUL_HTTP_TOKEN_FILE, CONSUL_HTTP_TOKEN, registry.consul.token_file; an etcd password:
// registry.etcd.password_file, ETCDCTL_PASSWORD; anything else: a file the manifest names).
std::string secret_flag_refusal(const std::string& flag);

// The refusal (one line, without the program's name, never the value) of the first --consul or
// --etcd URL with a password in it ("http://user:pass@host"), or "" when there is none. No
// address takes a user and password, so such a value is always an error; refused before the
// address parser could quote it.
std::string password_in_url(const std::vector<std::string>& args);

// Warnings (one line each) for secret-looking values in accepted flags: a --meta key such as
// "api_token".
std::vector<std::string> secret_value_warnings(const std::vector<std::string>& args);

}  // namespace registrar::cli
