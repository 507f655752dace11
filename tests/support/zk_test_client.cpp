#include "support/zk_test_client.hpp"

#include <zookeeper/zookeeper.h>

#include <atomic>
#include <cstring>
#include <stdexcept>

namespace registrar::test {

namespace {

// The library's log would fill the test's stderr with every reconnect.
void quiet(const char*) {}
void no_watch(zhandle_t*, int, int, const char*, void*) {}

std::string describe(int rc) {
  return std::string(zerror(rc)) + " (" + std::to_string(rc) + ")";
}

zhandle_t* open(const std::string& servers, Millis timeout, Millis session_timeout,
                const clientid_t* id) {
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  zhandle_t* zh = zookeeper_init2(servers.c_str(), no_watch,
                                  static_cast<int>(session_timeout.count()), id, nullptr, 0, quiet);
  if (zh == nullptr) throw std::runtime_error("zookeeper_init(" + servers + ") failed");
  if (!wait_until([&] { return zoo_state(zh) == ZOO_CONNECTED_STATE; }, timeout, 10ms)) {
    zookeeper_close(zh);
    throw std::runtime_error("no ZooKeeper session with " + servers);
  }
  return zh;
}

}  // namespace

ZkTestClient::ZkTestClient(const std::string& servers, Millis timeout, Millis session_timeout)
    : zh_(open(servers, timeout, session_timeout, nullptr)) {}

ZkTestClient::~ZkTestClient() {
  if (zh_ != nullptr) zookeeper_close(zh_);
}

std::int64_t ZkTestClient::session_id() const {
  return zoo_client_id(zh_)->client_id;
}

std::string ZkTestClient::session_passwd() const {
  const clientid_t* id = zoo_client_id(zh_);
  return std::string(id->passwd, sizeof id->passwd);
}

std::vector<std::string> ZkTestClient::children(const std::string& path) const {
  String_vector names{};
  const int rc = zoo_get_children(zh_, path.c_str(), 0, &names);
  if (rc == ZNONODE) return {};
  if (rc != ZOK) throw std::runtime_error("get_children " + path + ": " + describe(rc));
  std::vector<std::string> out;
  for (int i = 0; i < names.count; ++i) out.emplace_back(names.data[i]);
  deallocate_String_vector(&names);
  return out;
}

std::optional<ZkNode> ZkTestClient::get(const std::string& path) const {
  std::string buf(1 << 20, '\0');
  int len = static_cast<int>(buf.size());
  Stat stat{};
  const int rc = zoo_get(zh_, path.c_str(), 0, buf.data(), &len, &stat);
  if (rc == ZNONODE) return std::nullopt;
  if (rc != ZOK) throw std::runtime_error("get " + path + ": " + describe(rc));
  ZkNode n;
  n.data = len > 0 ? buf.substr(0, static_cast<std::size_t>(len)) : "";
  n.ephemeral_owner = stat.ephemeralOwner;
  n.mzxid = stat.mzxid;
  n.version = stat.version;
  return n;
}

std::vector<std::pair<std::string, ZkNode>> ZkTestClient::entries(const std::string& base) const {
  std::vector<std::pair<std::string, ZkNode>> out;
  for (const auto& name : children(base)) {
    for (const auto& child : children(base + "/" + name)) {
      const std::string path = base + "/" + name + "/" + child;
      if (auto n = get(path)) out.emplace_back(path, *n);
    }
  }
  return out;
}

bool ZkTestClient::remove(const std::string& path) const {
  const int rc = zoo_delete(zh_, path.c_str(), -1);
  if (rc == ZNONODE) return false;
  if (rc != ZOK) throw std::runtime_error("delete " + path + ": " + describe(rc));
  return true;
}

bool ZkTestClient::set(const std::string& path, const std::string& data) const {
  const int rc = zoo_set(zh_, path.c_str(), data.data(), static_cast<int>(data.size()), -1);
  if (rc == ZNONODE) return false;
  if (rc != ZOK) throw std::runtime_error("set " + path + ": " + describe(rc));
  return true;
}

bool ZkTestClient::create(const std::string& path, const std::string& data, bool ephemeral) const {
  for (std::size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string parent = path.substr(0, slash);
    const int rc = zoo_create(zh_, parent.c_str(), nullptr, -1, &ZOO_OPEN_ACL_UNSAFE,
                              ZOO_PERSISTENT, nullptr, 0);
    if (rc != ZOK && rc != ZNODEEXISTS)
      throw std::runtime_error("create " + parent + ": " + describe(rc));
  }
  const int rc =
      zoo_create(zh_, path.c_str(), data.data(), static_cast<int>(data.size()),
                 &ZOO_OPEN_ACL_UNSAFE, ephemeral ? ZOO_EPHEMERAL : ZOO_PERSISTENT, nullptr, 0);
  if (rc == ZNODEEXISTS) return false;
  if (rc != ZOK) throw std::runtime_error("create " + path + ": " + describe(rc));
  return true;
}

void ZkTestClient::expire(const std::string& servers, std::int64_t session_id,
                          const std::string& passwd, Millis timeout) {
  clientid_t id{};
  id.client_id = session_id;
  std::memcpy(id.passwd, passwd.data(), std::min(passwd.size(), sizeof id.passwd));
  // A handle on the session, closed, ends it; on a loaded machine the close was seen not to
  // land (the owner's handle, moved off the session, took it back). So: until a handle on the
  // session id is told the session is expired, close another. Bounded: 5 attempts.
  for (int attempt = 0; attempt < 5; ++attempt) {
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t* zh = zookeeper_init2(servers.c_str(), no_watch, 10000, &id, nullptr, 0, quiet);
    if (zh == nullptr) throw std::runtime_error("zookeeper_init(" + servers + ") failed");
    int state = 0;
    wait_until(
        [&] {
          state = zoo_state(zh);
          return state == ZOO_CONNECTED_STATE || state == ZOO_EXPIRED_SESSION_STATE;
        },
        timeout, 10ms);
    zookeeper_close(zh);
    if (state == ZOO_EXPIRED_SESSION_STATE) return;
  }
  throw std::runtime_error("ZooKeeper session still alive after 5 closes");
}

}  // namespace registrar::test
