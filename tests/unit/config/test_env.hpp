// Helpers shared by the config tests.
#pragma once

#include <map>
#include <string>

#include "config/manifest_parser.hpp"

namespace registrar::config::test {

// An EnvLookup over a fixed map; the process environment is never read.
inline EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

inline Manifest parse(const std::string& yaml, const EnvLookup& env = env_of({})) {
  return parse_manifest(yaml, "m.yaml", env);
}

// The ConfigError message of parsing `yaml`, or "parsed without error".
inline std::string error_of(const std::string& yaml, const EnvLookup& env = env_of({})) {
  try {
    parse_manifest(yaml, "m.yaml", env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "parsed without error";
}

}  // namespace registrar::config::test
