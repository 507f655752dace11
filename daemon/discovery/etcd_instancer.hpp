// The etcd reader: a Range of the service's keys (etcd_entries.hpp), then a Watch of the same
// range from the revision after that Range, so that no change between the read and the watch is
// lost. Talks to etcd through the daemon's own client (registry/etcd/etcd_client.hpp: TLS,
// authentication, endpoint fail-over, connection failures explained).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <map>
#include <memory>
#include <set>

#include "config/manifest.hpp"
#include "discovery/etcd_entries.hpp"
#include "discovery/etcd_watch_stream.hpp"
#include "discovery/instancer.hpp"
#include "registry/etcd/etcd_client.hpp"
#include "runtime/backoff.hpp"
#include "runtime/clock.hpp"
#include "runtime/timer.hpp"

namespace registrar::discovery::etcd {

class EtcdInstancer final : public Instancer, public std::enable_shared_from_this<EtcdInstancer> {
 public:
  static std::shared_ptr<EtcdInstancer> create(boost::asio::any_io_executor executor,
                                               const config::RegistrySpec& spec, Query query,
                                               const runtime::Clock& clock);
  void list(OnEvent done) override;
  void watch(OnEvent on_event) override;
  void stop() override;

 private:
  EtcdInstancer(boost::asio::any_io_executor executor, const config::RegistrySpec& spec,
                Query query, const runtime::Clock& clock);
  using Entries = std::map<std::string, Instance>;  // key -> instance
  void range(std::function<void(const grpc::Status&, Entries, std::int64_t revision)> done);
  void start_round();
  void on_range(std::uint64_t round, const grpc::Status& status, Entries entries,
                std::int64_t revision);
  void on_watch_response(std::uint64_t round, const etcdserverpb::WatchResponse& resp);
  void on_watch_closed(std::uint64_t round, const grpc::Status& status);
  void failed(const std::string& why);
  void report();
  Event event_of(const Entries& entries) const;
  // Adds key/value to `entries` if it is an instance; logs a key it cannot read once.
  void take(Entries& entries, const std::string& key, const std::string& value);

  boost::asio::any_io_executor executor_;
  config::EtcdSpec spec_;
  Query query_;
  KeyRange range_;
  registry::etcd::EtcdClient client_;
  runtime::Timer retry_timer_;
  runtime::Backoff backoff_;
  ChangeFilter filter_;
  OnEvent on_event_;
  Entries entries_;
  std::unique_ptr<WatchStream> stream_;
  std::uint64_t round_ = 0;  // bumped by every Range-and-Watch: completions of older ones are stale
  bool stopped_ = false;
  std::set<std::string> unreadable_;  // keys already logged as unreadable
};

}  // namespace registrar::discovery::etcd
