#include "discovery/instance.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace registrar::discovery {

namespace {

bool same_text_any_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool carries(const Instance& instance, const std::string& tag) {
  return std::any_of(instance.tags.begin(), instance.tags.end(),
                     [&](const std::string& t) { return same_text_any_case(t, tag); });
}

}  // namespace

InstanceSet select(const InstanceSet& set, const Query& query) {
  InstanceSet out;
  for (const auto& [id, instance] : set) {
    if (query.healthy_only && instance.health != registry::Health::Passing) continue;
    if (!std::all_of(query.tags.begin(), query.tags.end(),
                     [&](const std::string& tag) { return carries(instance, tag); }))
      continue;
    out.emplace(id, instance);
  }
  return out;
}

bool ChangeFilter::news(const Event& event) {
  if (!event.ok()) {
    if (in_outage_) return false;
    in_outage_ = true;
    return true;
  }
  in_outage_ = false;
  if (last_set_ == event.set) return false;
  last_set_ = event.set;
  return true;
}

}  // namespace registrar::discovery
