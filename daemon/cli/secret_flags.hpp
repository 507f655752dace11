// Secrets never travel on the command line: argv is visible to every local user (ps,
// /proc/PID/cmdline) and ends up in shell history. Flags whose name looks like a secret are
// refused with a pointer to the file and environment alternatives; values that look like secrets
// in ordinary flags draw a warning.
#pragma once

#include <string>
#include <vector>

namespace registrar::cli {

// The first argument that is a secret-looking flag ("--token", "--consul-token=...",
// "--password"), or "" when there is none. "--token-file" is fine: it names a file.
std::string secret_flag(const std::vector<std::string>& args);

// Warnings (one line each) for secret-looking values in accepted flags: a --meta key such as
// "api_token", a URL with a password ("http://user:pass@host").
std::vector<std::string> secret_value_warnings(const std::vector<std::string>& args);

}  // namespace registrar::cli
