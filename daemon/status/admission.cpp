#include "status/admission.hpp"

namespace registrar::status {

bool Admission::admit(const std::string& client) {
  const std::size_t held = held_by(client);
  if (total_ >= limits_.max_connections || held >= limits_.per_client) return false;
  const std::size_t open_places =
      limits_.max_connections > limits_.reserved ? limits_.max_connections - limits_.reserved : 0;
  if (held > 0 && total_ >= open_places) return false;
  ++held_[client];
  ++total_;
  return true;
}

void Admission::release(const std::string& client) {
  auto it = held_.find(client);
  if (it == held_.end()) return;
  if (--it->second == 0) held_.erase(it);
  --total_;
}

std::size_t Admission::held_by(const std::string& client) const {
  auto it = held_.find(client);
  return it == held_.end() ? 0 : it->second;
}

}  // namespace registrar::status
