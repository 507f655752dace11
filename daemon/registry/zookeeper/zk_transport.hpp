// The seam between the ZooKeeper backend's state machine and ZooKeeper: what the state machine
// needs of a session and its nodes. ZkClient (zk_client.*) implements it on Debian's C library;
// unit tests script it. Every callback runs on the daemon's io_context, never on a thread of the
// library, and returns ZooKeeper's own result code (ZOK, ZNONODE, ...: the values below, which
// zk_client.cpp checks against zookeeper.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace registrar::registry::zookeeper {

// ZooKeeper's result codes (enum ZOO_ERRORS of zookeeper.h) that the state machine tells apart.
namespace rc {
inline constexpr int kOk = 0;
inline constexpr int kConnectionLoss = -4;
inline constexpr int kOperationTimeout = -7;
inline constexpr int kInvalidState = -9;
inline constexpr int kNoNode = -101;
inline constexpr int kNoAuth = -102;
inline constexpr int kBadVersion = -103;
inline constexpr int kNodeExists = -110;
inline constexpr int kSessionExpired = -112;
inline constexpr int kClosing = -116;
}  // namespace rc

// ZooKeeper's name of a result code, for log lines ("ZNOAUTH (-102)").
inline std::string rc_name(int code) {
  const char* name = "error";
  switch (code) {
    case rc::kOk:
      name = "ZOK";
      break;
    case rc::kConnectionLoss:
      name = "ZCONNECTIONLOSS";
      break;
    case rc::kOperationTimeout:
      name = "ZOPERATIONTIMEOUT";
      break;
    case rc::kInvalidState:
      name = "ZINVALIDSTATE";
      break;
    case rc::kNoNode:
      name = "ZNONODE";
      break;
    case rc::kNoAuth:
      name = "ZNOAUTH";
      break;
    case rc::kBadVersion:
      name = "ZBADVERSION";
      break;
    case rc::kNodeExists:
      name = "ZNODEEXISTS";
      break;
    case rc::kSessionExpired:
      name = "ZSESSIONEXPIRED";
      break;
    case rc::kClosing:
      name = "ZCLOSING";
      break;
    default:
      break;
  }
  return std::string(name) + " (" + std::to_string(code) + ")";
}

// A request that may or may not have reached the server: its outcome is unknown.
inline bool outcome_unknown(int code) {
  return code == rc::kConnectionLoss || code == rc::kOperationTimeout;
}

struct NodeStat {
  std::int64_t ephemeral_owner = 0;  // the session of an ephemeral node; 0 otherwise
  std::int32_t version = 0;          // of its data
  std::int64_t mzxid = 0;
};

// What the session is doing, as the library's watcher reports it.
struct SessionEvent {
  enum class Kind {
    Connected,   // a session is up: new, or the same one resumed after a connection loss
    Connecting,  // the connection was lost; the library is trying the servers (same session)
    Expired,     // the server expired the session: its ephemeral nodes are gone
    AuthFailed,  // the server refused the credentials: the handle is dead
  };
  Kind kind = Kind::Connecting;
  std::int64_t session = 0;       // Connected: the session's id
  int negotiated_timeout_ms = 0;  // Connected: what the server granted
  std::string server;             // Connected: host:port of the server in use
};

enum class NodeMode { Ephemeral, Container, Persistent };

// One operation of a multi (zoo_amulti): applied all together or not at all.
struct MultiOp {
  enum class Kind { Create, Delete, Set };
  Kind kind = Kind::Create;
  std::string path;
  std::string data;
  NodeMode mode = NodeMode::Ephemeral;  // Create
  std::int32_t version = -1;            // Delete, Set: -1 = any
};

class ZkTransport {
 public:
  using Done = std::function<void(int code)>;
  using StatDone = std::function<void(int code, const NodeStat& stat)>;
  using DataDone = std::function<void(int code, const std::string& data, const NodeStat& stat)>;
  using ChildrenDone = std::function<void(int code, const std::vector<std::string>& names)>;
  using SessionCallback = std::function<void(const SessionEvent&)>;

  virtual ~ZkTransport() = default;

  // Opens a new session (closing the current handle first, on the caller's thread), with the
  // digest credentials `auth` ("user:password"; "" = none). Events arrive on `on_event` until
  // the next open() or close(). Returns "" or why the handle could not be made.
  virtual std::string open(const std::string& auth, SessionCallback on_event) = 0;
  // Closes the session: the server deletes its ephemeral nodes at once. Blocks for at most the
  // library's own bound on sending the close. Requests still pending complete with kClosing.
  virtual void close() = 0;

  // Requests on the current session; each `done` runs exactly once.
  virtual void create(const std::string& path, const std::string& data, NodeMode mode,
                      StatDone done) = 0;
  virtual void set(const std::string& path, const std::string& data, std::int32_t version,
                   StatDone done) = 0;
  virtual void remove(const std::string& path, std::int32_t version, Done done) = 0;
  virtual void get(const std::string& path, DataDone done) = 0;
  virtual void children(const std::string& path, ChildrenDone done) = 0;
  virtual void multi(std::vector<MultiOp> ops, Done done) = 0;
};

}  // namespace registrar::registry::zookeeper
