// The read side's vocabulary: one instance of a service as the registry's clients see it, the
// set of them, what to ask for (Query) and what a reader reports (Event). Pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "registry/registration.hpp"

namespace registrar::discovery {

struct Instance {
  std::string id;
  std::string name;
  std::string address;
  std::uint16_t port = 0;
  // etcd lists only what is passing (the daemon removes the others); Consul reports the worst
  // status of the instance's checks.
  registry::Health health = registry::Health::Passing;
  std::vector<std::string> tags;
  std::map<std::string, std::string> meta;

  friend bool operator==(const Instance&, const Instance&) = default;
};

// Keyed by Instance::id: ordered, so two reads of the same registry compare and print equal.
using InstanceSet = std::map<std::string, Instance>;

// What is asked: the instances of `name` carrying every tag of `tags` (compared without regard
// to letter case, as Consul does), only the passing ones when `healthy_only`.
struct Query {
  std::string name;
  std::vector<std::string> tags;
  bool healthy_only = true;
};

// The instances of `set` that `query` selects.
InstanceSet select(const InstanceSet& set, const Query& query);

// What a reader reports: the whole current set (never a difference to apply), or why the
// registry could not be read. An error says nothing about the set: the last one stands.
struct Event {
  std::optional<InstanceSet> set;
  std::string error;

  bool ok() const { return set.has_value(); }
  static Event of(InstanceSet s) { return Event{std::move(s), {}}; }
  static Event failure(std::string why) { return Event{std::nullopt, std::move(why)}; }
};

// Whether an event is news to a watcher: a set that differs from the last one passed, or the
// first error of an outage (the time until a set is read again). So a write that leaves the set
// as it was, a re-read after an outage that finds what was there before, and every retry that
// fails during one outage are not news.
class ChangeFilter {
 public:
  bool news(const Event& event);

 private:
  std::optional<InstanceSet> last_set_;
  bool in_outage_ = false;
};

}  // namespace registrar::discovery
