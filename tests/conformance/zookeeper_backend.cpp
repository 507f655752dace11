#include "conformance/zookeeper_backend.hpp"

#include <set>
#include <stdexcept>

#include "registry/zookeeper/entry_format.hpp"
#include "registry/zookeeper/owner_record.hpp"
#include "support/require.hpp"

namespace registrar::conformance {

namespace {

using namespace std::chrono_literals;

constexpr const char* kBase = "/conformance";
constexpr const char* kOwner = "conformance-zookeeper";
// The C client's pause before it tries the server list again once every server has failed
// (about a second), plus a round trip to establish the session.
constexpr Millis kReconnectDelay{1500};

}  // namespace

bool ZooKeeperBackend::available() {
  return test::need(test::zookeeper_classpath().has_value(),
                    "ZooKeeper not found at " + test::zookeeper_jar() +
                        " (apt-get install zookeeper, or $REGISTRAR_TEST_ZOOKEEPER_JAR)");
}

ZooKeeperBackend::ZooKeeperBackend() : zk_(true) {}

test::ZkTestClient& ZooKeeperBackend::client() {
  if (!client_) client_ = std::make_unique<test::ZkTestClient>(zk_.endpoint());
  return *client_;
}

config::RegistrySpec ZooKeeperBackend::spec() const {
  config::RegistrySpec spec;
  spec.kind = config::RegistryKind::ZooKeeper;
  spec.zookeeper.servers = {zk_.endpoint()};
  spec.zookeeper.base_path = kBase;
  spec.zookeeper.format = config::ZooKeeperFormat::Curator;
  spec.zookeeper.owner = kOwner;
  // Short, but long enough that a loaded machine does not miss heartbeats (every third of it).
  spec.zookeeper.session_timeout = 3s;
  spec.zookeeper.resync_interval = 1s;  // the shortest a manifest allows
  spec.backoff.initial = 50ms;
  spec.backoff.max = 400ms;
  return spec;
}

std::optional<View> ZooKeeperBackend::read() {
  try {
    View view;
    for (const auto& [path, node] : client().entries(kBase)) {
      const auto d =
          registry::zookeeper::decode(config::ZooKeeperFormat::Curator, kBase, path, node.data);
      if (!d) continue;
      view[d->id] = Seen{d->name, d->address, d->port, d->tags, d->meta, true};
    }
    return view;
  } catch (const std::exception&) {
    client_.reset();
    return std::nullopt;
  }
}

Mark ZooKeeperBackend::mark() {
  Mark m;
  m.position = static_cast<std::uint64_t>(zk_.last_zxid().value_or(0));
  for (const auto& [path, node] : client().entries(kBase))
    m.versions[path.substr(path.rfind('/') + 1)] = std::to_string(node.mzxid);
  return m;
}

Writes ZooKeeperBackend::writes_since(const Mark& mark) {
  const Mark now = this->mark();
  Writes w;
  w.total = static_cast<std::size_t>(now.position - mark.position);
  std::set<std::string> ids;
  for (const auto& [id, v] : now.versions) ids.insert(id);
  for (const auto& [id, v] : mark.versions) ids.insert(id);
  for (const auto& id : ids) {
    const auto a = mark.versions.find(id);
    const auto b = now.versions.find(id);
    if (a == mark.versions.end() || b == now.versions.end() || a->second != b->second)
      w.per_entry[id] = 1;
  }
  return w;
}

bool ZooKeeperBackend::nothing_left() {
  return client().entries(kBase).empty() &&
         !client().get(registry::zookeeper::owner_record_path(kOwner)).has_value();
}

void ZooKeeperBackend::remove_from_outside(const registry::Registration& r) {
  const std::string path = std::string(kBase) + "/" + r.name + "/" + r.id;
  if (!client().remove(path)) throw std::runtime_error("delete " + path + ": no such node");
}

void ZooKeeperBackend::lose_state() {
  client_.reset();
  zk_.wipe_and_restart();
}

void ZooKeeperBackend::take_down() {
  client_.reset();
  zk_.kill9();
}

Millis ZooKeeperBackend::state_loss_bound() const {
  // docs/zookeeper.md, "Faults": a wiped server refuses the old session (or the client, which
  // has seen a newer zxid); the daemon opens a new session at the latest once it has heard
  // nothing for the negotiated session timeout, then writes everything again.
  return spec().zookeeper.session_timeout + kReconnectDelay + kLoadSlack;
}

Millis ZooKeeperBackend::outside_removal_bound() const {
  return spec().zookeeper.resync_interval + kLoadSlack;
}

Millis ZooKeeperBackend::quiet_period() const {
  return 2 * spec().zookeeper.resync_interval + 500ms;
}

}  // namespace registrar::conformance
