// Reading and validating the YAML manifest into a config::Manifest.
#pragma once

#include <string>
#include <string_view>

#include "config/error.hpp"
#include "config/interpolate.hpp"
#include "config/manifest.hpp"

namespace registrar::config {

// Parses and validates manifest text. `source_name` is used in error messages, in every
// Location and as Manifest::source. ${VAR} references in scalar values are resolved through
// `env`. Every default is filled in: service ids, probe targets, and each service's probe
// (defaults.probe with the service's overrides). Throws ConfigError on the first problem.
Manifest parse_manifest(std::string_view yaml, const std::string& source_name,
                        const EnvLookup& env);

// Reads the file at `path` and parses it as above. A missing or unreadable file throws
// ConfigError "PATH: cannot read: <strerror>".
Manifest load_manifest(const std::string& path, const EnvLookup& env = process_env());

}  // namespace registrar::config
