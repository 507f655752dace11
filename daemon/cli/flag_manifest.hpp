// The commands that take a registry (and a service) from flags turn them into manifest text, so
// that every value is checked as in a file by the manifest parser; these are the two pieces they
// share: a value quoted for that text, and the flag to name when the parser refuses a field.
#pragma once

#include <string>

namespace registrar::config {
struct ConfigError;
}

namespace registrar::cli {

// A YAML double-quoted scalar whose value is taken literally (no ${VAR} interpolation).
std::string yaml_literal(const std::string& s);

// The flag that sets a manifest field ("registry.etcd.endpoints[0]" -> "--etcd"), for messages
// about flags; the field itself when no flag sets it.
std::string flag_for_field(const std::string& field);

// The parser's refusal of text built from flags, as one line naming the flag instead of a
// position in text nobody wrote: "--etcd-ca-file: cannot read ...".
std::string flag_error(const config::ConfigError& e);

}  // namespace registrar::cli
