// Probers of services behind the same address share gRPC channels, so that N health-check names
// on one server cost a few HTTP/2 connections instead of N (their Watch streams and Checks are
// multiplexed). A channel is shared by at most `max_users` holders, which keeps the streams on a
// connection under the concurrent-stream limit of any HTTP/2 server or proxy (RFC 9113
// recommends no limit below 100); more holders get another channel.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace grpc {
class Channel;
}

namespace registrar::probe {

class ChannelPool {
 public:
  using Factory = std::function<std::shared_ptr<grpc::Channel>()>;

  explicit ChannelPool(std::size_t max_users);
  ChannelPool(const ChannelPool&) = delete;
  ChannelPool& operator=(const ChannelPool&) = delete;

  // A channel for `key` (the target and every channel argument that differs between callers,
  // TLS settings included): one of the key's channels that has fewer than max_users holders, or
  // a new one from `make`. `make` may return nullptr (the channel cannot be made now, e.g. a TLS
  // file is unreadable): acquire then returns nullptr and keeps nothing. `make` runs under the
  // pool's lock. The holder's use ends when the returned pointer (and every copy of it) is gone;
  // a channel with no holders left is released. Thread-safe; the handles may outlive the pool.
  std::shared_ptr<grpc::Channel> acquire(const std::string& key, const Factory& make);

  // For tests: channels held now for `key`, and holders of each.
  std::vector<std::size_t> users(const std::string& key) const;

 private:
  struct Entry {
    std::shared_ptr<grpc::Channel> channel;
    std::size_t users = 0;
  };
  struct State {
    std::mutex mu;
    std::map<std::string, std::vector<std::shared_ptr<Entry>>> entries;
  };
  class Handle;

  std::size_t max_users_;
  std::shared_ptr<State> state_;
};

}  // namespace registrar::probe
