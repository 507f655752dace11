// What a registry backend is asked to hold: the desired set of healthy service instances.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace registrar::registry {

// What the probes say about an instance, after rise/fall hysteresis. Backends that only list
// healthy instances (etcd) keep Passing ones; backends with health checks of their own (Consul)
// register every instance and report this as the check's status.
enum class Health { Passing, Warning, Critical };

constexpr const char* to_string(Health h) {
  switch (h) {
    case Health::Passing:
      return "passing";
    case Health::Warning:
      return "warning";
    case Health::Critical:
      return "critical";
  }
  return "critical";
}

struct Registration {
  std::string name;
  std::string id;
  std::string address;
  std::uint16_t port = 0;
  std::vector<std::string> tags;
  std::map<std::string, std::string> meta;
  Health health = Health::Critical;
  std::string output;  // what the probe saw, for humans (e.g. a Consul check's Output)

  friend bool operator==(const Registration&, const Registration&) = default;
};

// Keyed by Registration::id: every service the daemon manages, healthy or not. Level-triggered:
// a backend makes the registry equal to this set.
using DesiredSet = std::map<std::string, Registration>;

// The subset of `set` whose health is Passing.
inline DesiredSet passing(const DesiredSet& set) {
  DesiredSet out;
  for (const auto& [id, r] : set)
    if (r.health == Health::Passing) out.emplace(id, r);
  return out;
}

}  // namespace registrar::registry
