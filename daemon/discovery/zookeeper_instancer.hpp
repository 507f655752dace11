// The ZooKeeper reader: the children of <base_path>/<name> and each child's data
// (zookeeper_nodes.hpp), read with watches set, on the backend's own client
// (registry/zookeeper/zk_client.hpp: Debian's libzookeeper-mt, chroot, digest auth). A watch
// reads again whenever a watch fires (a child added or removed, a child's data changed, the
// service's node created or deleted: what Curator's ServiceCache and go-kit's sd/zk Instancer
// follow), coalescing the changes that arrive during a read into one more read.
//
// A lost connection is an error event (the set is unknown, not empty); the library reconnects by
// itself, and the set is read again once the session is back. An expired session is replaced by
// a new one. Connecting and each read are bounded by registry.zookeeper.session_timeout (the
// read commands set it from --timeout).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "config/manifest.hpp"
#include "discovery/instancer.hpp"
#include "registry/zookeeper/zk_client.hpp"
#include "runtime/backoff.hpp"
#include "runtime/clock.hpp"
#include "runtime/timer.hpp"

namespace registrar::discovery::zookeeper {

class ZooKeeperInstancer final : public Instancer,
                                 public std::enable_shared_from_this<ZooKeeperInstancer> {
 public:
  static std::shared_ptr<ZooKeeperInstancer> create(boost::asio::any_io_executor executor,
                                                    const config::RegistrySpec& spec, Query query,
                                                    const runtime::Clock& clock);
  ~ZooKeeperInstancer() override;
  void list(OnEvent done) override;
  void watch(OnEvent on_event) override;
  void stop() override;

 private:
  ZooKeeperInstancer(boost::asio::any_io_executor executor, const config::RegistrySpec& spec,
                     Query query, const runtime::Clock& clock);
  void open();
  // No handle could be made (or the password not read): an error, and for a watch a new try on
  // the backoff.
  void open_failed(const std::string& why);
  void on_session(std::uint64_t epoch, const registry::zookeeper::SessionEvent& e);
  void on_node_change();
  // One read of the service's children and their data; a read asked for while one runs is run
  // once after it.
  void start_round();
  void on_children(std::uint64_t round, int code, const std::vector<std::string>& names);
  void on_child(std::uint64_t round, const std::string& child, int code, const std::string& data);
  void finish_round(std::uint64_t round, Event event);
  // Hands `event` to list()'s waiters and, when it is news, to the watcher.
  void deliver(const Event& event);
  void failed(const std::string& why);
  std::string where() const;

  boost::asio::any_io_executor executor_;
  config::ZooKeeperSpec spec_;
  Query query_;
  std::string path_;  // <base_path>/<name>
  std::unique_ptr<registry::zookeeper::ZkClient> client_;
  runtime::Timer deadline_;  // connecting, and each round
  runtime::Timer retry_timer_;
  runtime::Backoff backoff_;
  ChangeFilter filter_;
  std::vector<OnEvent> waiters_;  // list()
  OnEvent on_event_;              // watch()
  std::uint64_t epoch_ = 0;       // of the session
  std::uint64_t round_ = 0;
  bool opened_ = false;
  bool connected_ = false;
  bool in_round_ = false;
  bool again_ = false;  // a watch fired during the round
  bool stopped_ = false;
  // The round in flight: children not answered yet, and the instances read so far.
  std::size_t pending_ = 0;
  InstanceSet reading_;
  std::set<std::string> unreadable_;  // children warned about once
};

}  // namespace registrar::discovery::zookeeper
