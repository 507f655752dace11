// ZkClient: ZkTransport on Debian's ZooKeeper C library (libzookeeper-mt; there is no C++
// client). The library runs two threads of its own: an I/O thread and a completion thread on
// which it calls completions and the watcher. Those only copy what they are given and post it
// onto the daemon's io_context; nothing of the daemon is touched there. The handle is made and
// closed on the io_context's thread (zookeeper_close joins the library's threads, so it must
// never run on them).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/manifest.hpp"
#include "registry/zookeeper/zk_transport.hpp"

typedef struct _zhandle zhandle_t;

namespace registrar::registry::zookeeper {

class ZkClient final : public ZkTransport {
 public:
  // `spec`: servers, chroot, the session timeout asked for, and whether the nodes created carry
  // a digest ACL (username set) and which one.
  ZkClient(boost::asio::any_io_executor executor, const config::ZooKeeperSpec& spec);
  ~ZkClient() override;

  std::string open(const std::string& auth, SessionCallback on_event) override;
  void close() override;

  void create(const std::string& path, const std::string& data, NodeMode mode,
              StatDone done) override;
  void set(const std::string& path, const std::string& data, std::int32_t version,
           StatDone done) override;
  void remove(const std::string& path, std::int32_t version, Done done) override;
  void get(const std::string& path, DataDone done) override;
  void children(const std::string& path, ChildrenDone done) override;
  void multi(std::vector<MultiOp> ops, Done done) override;

  // For a reader (discovery/zookeeper_instancer): reads that leave ZooKeeper's one-shot watch on
  // the node (the watch flag, on the handle's watcher), and the callback its firing reaches, on
  // the io_context, with the node's path: once per watch set, whatever changed (children, data,
  // creation, deletion). The library sets the watches again itself after a reconnection to the
  // same session; an expired session has none. Set the callback before open().
  using NodeCallback = std::function<void(const std::string& path)>;
  void on_node_change(NodeCallback callback) { on_node_ = std::move(callback); }
  void watch_children(const std::string& path, ChildrenDone done);
  void watch_get(const std::string& path, DataDone done);
  void watch_exists(const std::string& path, Done done);

  // "host:port,host:port/chroot"
  const std::string& connect_string() const { return connect_string_; }

  struct Bridge;  // zk_client.cpp: what the library's threads may reach

 private:
  void get_children(const std::string& path, int watch, ChildrenDone done);
  void get_data(const std::string& path, int watch, DataDone done);
  // Posts `done(code)` for a request the library refused to queue (no handle, dead handle).
  void refuse(int code, std::function<void(int)> done);

  boost::asio::any_io_executor executor_;
  std::string connect_string_;
  int session_timeout_ms_;
  bool digest_acl_;
  bool world_read_;
  zhandle_t* zh_ = nullptr;
  std::shared_ptr<Bridge> bridge_;  // of the current handle
  NodeCallback on_node_;
};

}  // namespace registrar::registry::zookeeper
