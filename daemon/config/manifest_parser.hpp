// Reading and validating the YAML manifest into a config::Manifest.
#pragma once

#include <cstddef>
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

// The most a manifest file may hold. A real one is a few KiB; 1000 services, each with tags,
// meta and a probe section, are about 250 KiB. The bound keeps a wrong path (/dev/zero, a log,
// a device) from being read without end: such a file is refused as soon as it passes it.
inline constexpr std::size_t kMaxManifestBytes = std::size_t{1} << 20;  // 1 MiB

// Reads the file at `path` and parses it as above. A missing or unreadable file throws
// ConfigError "PATH: cannot read: <strerror>", a larger one than kMaxManifestBytes "PATH: larger
// than 1048576 bytes, the limit for a manifest". A FIFO or a pipe (`-c <(command)`) is read to
// its end; a FIFO that no process has open for writing reads as empty, instead of waiting.
Manifest load_manifest(const std::string& path, const EnvLookup& env = process_env());

}  // namespace registrar::config
