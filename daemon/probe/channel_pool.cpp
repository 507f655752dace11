#include "probe/channel_pool.hpp"

#include <algorithm>
#include <utility>

namespace registrar::probe {

// Owned by the pointer handed out; its destruction ends one use of its entry.
class ChannelPool::Handle {
 public:
  Handle(std::weak_ptr<State> state, std::string key, std::shared_ptr<Entry> entry)
      : state_(std::move(state)), key_(std::move(key)), entry_(std::move(entry)) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    const std::shared_ptr<State> state = state_.lock();
    if (!state) return;  // the pool is gone; entry_ alone keeps the channel until now
    std::lock_guard lock(state->mu);
    if (--entry_->users != 0) return;
    auto it = state->entries.find(key_);
    if (it == state->entries.end()) return;
    auto& list = it->second;
    list.erase(std::remove(list.begin(), list.end(), entry_), list.end());
    if (list.empty()) state->entries.erase(it);
  }

  grpc::Channel* channel() const { return entry_->channel.get(); }

 private:
  std::weak_ptr<State> state_;
  std::string key_;
  std::shared_ptr<Entry> entry_;  // keeps the channel alive while this use lasts
};

ChannelPool::ChannelPool(std::size_t max_users)
    : max_users_(std::max<std::size_t>(max_users, 1)), state_(std::make_shared<State>()) {}

std::shared_ptr<grpc::Channel> ChannelPool::acquire(const std::string& key, const Factory& make) {
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(state_->mu);
    auto& list = state_->entries[key];
    for (const auto& e : list) {
      if (e->users < max_users_) {
        entry = e;
        break;
      }
    }
    if (!entry) {
      std::shared_ptr<grpc::Channel> channel = make();
      if (!channel) {
        if (list.empty()) state_->entries.erase(key);
        return nullptr;
      }
      entry = std::make_shared<Entry>();
      entry->channel = std::move(channel);
      list.push_back(entry);
    }
    ++entry->users;
  }
  auto handle = std::make_shared<Handle>(state_, key, std::move(entry));
  grpc::Channel* raw = handle->channel();
  return std::shared_ptr<grpc::Channel>(std::move(handle), raw);  // aliasing: owns the handle
}

std::vector<std::size_t> ChannelPool::users(const std::string& key) const {
  std::lock_guard lock(state_->mu);
  std::vector<std::size_t> out;
  auto it = state_->entries.find(key);
  if (it == state_->entries.end()) return out;
  for (const auto& e : it->second) out.push_back(e->users);
  return out;
}

}  // namespace registrar::probe
