// ZkTestClient: a test's own synchronous ZooKeeper client (Debian's C library, its blocking
// calls), to read what the daemon wrote, and to inject faults from outside: delete a node, hold
// a path under another session, or expire a session by opening a second handle on its id and
// closing it (the way ZooKeeper's own tests force an expiry).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "support/wait.hpp"

typedef struct _zhandle zhandle_t;

namespace registrar::test {

struct ZkNode {
  std::string data;
  std::int64_t ephemeral_owner = 0;  // 0: a persistent (or container) node
  std::int64_t mzxid = 0;            // the zxid of its last write
  std::int32_t version = 0;
};

class ZkTestClient {
 public:
  // Connects to `servers` ("host:port,...") and waits up to `timeout` for the session; throws
  // when none is established. `session_timeout` is what it asks for.
  explicit ZkTestClient(const std::string& servers, Millis timeout = 10s,
                        Millis session_timeout = 10s);
  ~ZkTestClient();
  ZkTestClient(const ZkTestClient&) = delete;
  ZkTestClient& operator=(const ZkTestClient&) = delete;

  // Children's names ({} when the node does not exist); throws on other errors.
  std::vector<std::string> children(const std::string& path) const;
  std::optional<ZkNode> get(const std::string& path) const;
  // Every node at depth 2 below `base` (<base>/<name>/<child>) and its data, by full path.
  std::vector<std::pair<std::string, ZkNode>> entries(const std::string& base) const;
  // True when it deleted the node.
  bool remove(const std::string& path) const;
  // Creates `path` (parents too, persistent) with `data`; `ephemeral`: of this client's
  // session. True when created.
  bool create(const std::string& path, const std::string& data, bool ephemeral = false) const;
  // Writes `data` to an existing node (any version): a data change event even when the data is
  // the same. False when there is no such node.
  bool set(const std::string& path, const std::string& data) const;
  std::int64_t session_id() const;
  std::string session_passwd() const;  // 16 bytes

  // Expires the session `session_id` (password `passwd`, 16 bytes) on `servers`: a second handle
  // on it, closed, until a handle on it is told the session has expired. Returns then.
  static void expire(const std::string& servers, std::int64_t session_id, const std::string& passwd,
                     Millis timeout = 10s);

 private:
  zhandle_t* zh_ = nullptr;
};

}  // namespace registrar::test
