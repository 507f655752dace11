// The backend kit's due-time queue: at most one due time per key (a service id, say), the
// earliest first. Scheduling, rescheduling, removing and finding the earliest cost O(log N), so a
// backend with N entries that each have a next deadline (a TTL refresh, a read-back, a retry)
// finds the next one to act on without scanning all N after every answer of the registry.
// Ties are broken by key order, so entries due together are taken in a stable order.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <utility>

#include "runtime/clock.hpp"

namespace registrar::registry::common {

template <typename Key>
class DueQueue {
 public:
  using time_point = runtime::Clock::time_point;

  // `key` falls due at `at`; replaces the key's earlier due time, if any.
  void schedule(const Key& key, time_point at) {
    auto [it, inserted] = due_.try_emplace(key, at);
    if (!inserted) {
      if (it->second == at) return;
      order_.erase({it->second, key});
      it->second = at;
    }
    order_.emplace(at, key);
  }
  // `key` is not due at all any more.
  void remove(const Key& key) {
    auto it = due_.find(key);
    if (it == due_.end()) return;
    order_.erase({it->second, key});
    due_.erase(it);
  }
  void clear() {
    order_.clear();
    due_.clear();
  }

  // The key due first and when, if any key is due at all.
  std::optional<std::pair<time_point, Key>> earliest() const {
    if (order_.empty()) return std::nullopt;
    return *order_.begin();
  }
  // The first key due at or after `t`, if any.
  std::optional<std::pair<time_point, Key>> first_from(time_point t) const {
    auto it = order_.lower_bound(t);
    if (it == order_.end()) return std::nullopt;
    return *it;
  }
  std::optional<time_point> due(const Key& key) const {
    auto it = due_.find(key);
    if (it == due_.end()) return std::nullopt;
    return it->second;
  }
  bool empty() const { return order_.empty(); }
  std::size_t size() const { return order_.size(); }

 private:
  using Item = std::pair<time_point, Key>;
  // Orders by due time, then key; a bare time_point finds the first item due at or after it.
  struct Order {
    using is_transparent = void;
    bool operator()(const Item& a, const Item& b) const { return a < b; }
    bool operator()(const Item& a, time_point t) const { return a.first < t; }
    bool operator()(time_point t, const Item& a) const { return t < a.first; }
  };
  std::set<Item, Order> order_;
  std::map<Key, time_point> due_;
};

}  // namespace registrar::registry::common
