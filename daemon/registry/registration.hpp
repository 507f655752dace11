// What a registry backend is asked to hold: the desired set of healthy service instances.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace registrar::registry {

struct Registration {
  std::string name;
  std::string id;
  std::string address;
  std::uint16_t port = 0;
  std::vector<std::string> tags;
  std::map<std::string, std::string> meta;

  friend bool operator==(const Registration&, const Registration&) = default;
};

// Keyed by Registration::id. Level-triggered: a backend makes the registry equal to this set.
using DesiredSet = std::map<std::string, Registration>;

}  // namespace registrar::registry
