// ${VAR} / ${VAR:-default} interpolation of manifest scalar values.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace registrar::config {

// Returns the value of an environment variable, or nullopt when it is unset. Injectable so that
// tests never touch the process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// Looks variables up in the environment of this process.
EnvLookup process_env();

// A malformed reference or an unset variable without a default; what() is the bare reason,
// without file position (the manifest parser adds that).
struct InterpolationError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Expands, in one pass (the result is not scanned again):
//   ${VAR}          the value of VAR (may be empty); an error when VAR is unset
//   ${VAR:-text}    the value of VAR, or `text` when VAR is unset or empty
//   $$              a literal '$'
// VAR is [A-Za-z_][A-Za-z0-9_]*. `text` is literal except that "$$" is '$'; it cannot contain
// braces or another reference. Any other '$' is an error. Throws InterpolationError.
std::string interpolate(std::string_view text, const EnvLookup& env);

// Escapes every '$' as "$$", so that interpolate(escape_interpolation(s), env) == s.
std::string escape_interpolation(std::string_view text);

}  // namespace registrar::config
