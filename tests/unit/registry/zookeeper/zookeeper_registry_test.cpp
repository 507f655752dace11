// The ZooKeeper backend's state machine against a scripted transport: a small model of
// ZooKeeper (nodes with their owning session, versions, parents) that answers through the
// io_context, and can lose the connection after applying a request, or expire the session.
#include "registry/zookeeper/zookeeper_registry.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>

#include "registry/zookeeper/owner_record.hpp"
#include "runtime/clock.hpp"

using namespace registrar;
using namespace registrar::registry;
using namespace registrar::registry::zookeeper;
using namespace std::chrono_literals;

namespace {

struct ZkNode {
  std::string data;
  std::int64_t owner = 0;
  std::int32_t version = 0;
};

// ZooKeeper as the backend sees it: one session at a time, every answer posted.
struct FakeZk final : ZkTransport {
  boost::asio::any_io_executor executor;
  std::map<std::string, ZkNode> nodes;
  std::int64_t session = 0;
  std::int64_t next_session = 100;
  SessionCallback on_event;
  int opens = 0;
  bool closed = false;
  // The create of this path is applied, but its answer is lost with the connection.
  std::string lose_create_of;

  void post(std::function<void()> f) { boost::asio::post(executor, std::move(f)); }
  void connect() {
    post([this, s = session] { on_event({SessionEvent::Kind::Connected, s, 3000, "zk:2181"}); });
  }
  std::string open(const std::string&, SessionCallback cb) override {
    ++opens;
    on_event = std::move(cb);
    session = next_session++;
    connect();
    return "";
  }
  void close() override {
    closed = true;
    for (auto it = nodes.begin(); it != nodes.end();)
      it = it->second.owner == session ? nodes.erase(it) : std::next(it);
  }
  bool parent_exists(const std::string& path) const {
    const std::string parent = path.substr(0, path.rfind('/'));
    return parent.empty() || nodes.count(parent) != 0;
  }
  void create(const std::string& path, const std::string& data, NodeMode mode,
              StatDone done) override {
    int code = rc::kOk;
    if (nodes.count(path) != 0) {
      code = rc::kNodeExists;
    } else if (!parent_exists(path)) {
      code = rc::kNoNode;
    } else {
      nodes[path] = ZkNode{data, mode == NodeMode::Ephemeral ? session : 0, 0};
    }
    if (path == lose_create_of && code == rc::kOk) {
      lose_create_of.clear();
      post([this, done] {
        on_event({SessionEvent::Kind::Connecting, 0, 0, ""});
        done(rc::kConnectionLoss, NodeStat{});
      });
      return;
    }
    post([done, code] { done(code, NodeStat{}); });
  }
  void set(const std::string& path, const std::string& data, std::int32_t version,
           StatDone done) override {
    auto it = nodes.find(path);
    int code = rc::kOk;
    NodeStat st;
    if (it == nodes.end()) {
      code = rc::kNoNode;
    } else if (version != -1 && version != it->second.version) {
      code = rc::kBadVersion;
    } else {
      it->second.data = data;
      st.version = ++it->second.version;
    }
    post([done, code, st] { done(code, st); });
  }
  void remove(const std::string& path, std::int32_t version, Done done) override {
    auto it = nodes.find(path);
    int code = rc::kOk;
    if (it == nodes.end()) {
      code = rc::kNoNode;
    } else if (version != -1 && version != it->second.version) {
      code = rc::kBadVersion;
    } else {
      nodes.erase(it);
    }
    post([done, code] { done(code); });
  }
  void get(const std::string& path, DataDone done) override {
    auto it = nodes.find(path);
    if (it == nodes.end()) return post([done] { done(rc::kNoNode, "", NodeStat{}); });
    NodeStat st{it->second.owner, it->second.version, 0};
    post([done, d = it->second.data, st] { done(rc::kOk, d, st); });
  }
  void children(const std::string& path, ChildrenDone done) override {
    std::vector<std::string> out;
    for (const auto& [p, n] : nodes)
      if (p.size() > path.size() + 1 && p.starts_with(path + "/") &&
          p.find('/', path.size() + 1) == std::string::npos)
        out.push_back(p.substr(path.size() + 1));
    post([done, out, code = nodes.count(path) ? rc::kOk : rc::kNoNode] { done(code, out); });
  }
  void multi(std::vector<MultiOp>, Done done) override {
    post([done] { done(rc::kOk); });
  }
  // The server expires the session: its ephemerals go, the handle is dead.
  void expire() {
    for (auto it = nodes.begin(); it != nodes.end();)
      it = it->second.owner == session ? nodes.erase(it) : std::next(it);
    post([this] { on_event({SessionEvent::Kind::Expired, 0, 0, ""}); });
  }
};

config::RegistrySpec spec() {
  config::RegistrySpec s;
  s.kind = config::RegistryKind::ZooKeeper;
  s.zookeeper.owner = "unit";
  s.zookeeper.resync_interval = 1s;
  s.backoff.initial = 10ms;
  s.backoff.max = 20ms;
  return s;
}

Registration reg(const std::string& id, Health h = Health::Passing) {
  return {"svc", id, "10.0.0.1", 5000, {}, {}, h, ""};
}

struct Harness {
  boost::asio::io_context io;
  runtime::ManualClock clock;
  FakeZk* zk = nullptr;
  std::shared_ptr<ZooKeeperRegistry> registry;

  Harness() {
    auto t = std::make_unique<FakeZk>();
    t->executor = io.get_executor();
    zk = t.get();
    clock.drive_timers(true);
    registry = std::make_shared<ZooKeeperRegistry>(
        io.get_executor(), spec(), std::move(t), clock, [] { return 0.5; },
        [](const std::string&, std::string&) { return std::optional<std::string>("pw"); });
  }
  void settle() {
    for (int i = 0; i < 200 && io.poll() > 0; ++i) {
    }
    io.restart();
  }
  void start(const DesiredSet& d) {
    registry->start([](const RegistryState&) {});
    registry->apply(d);
    settle();
  }
  void pass_time(std::chrono::milliseconds d) {
    clock.advance(d);
    settle();
  }
};

DesiredSet set_of(std::initializer_list<Registration> regs) {
  DesiredSet d;
  for (const auto& r : regs) d.emplace(r.id, r);
  return d;
}

const std::string kA = "/services/svc/a";
const std::string kB = "/services/svc/b";

}  // namespace

TEST_CASE("zookeeper registry: healthy entries become ephemerals of the session, parents too") {
  Harness h;
  h.start(set_of({reg("a"), reg("b", Health::Critical)}));
  REQUIRE(h.zk->nodes.count(kA) == 1);
  CHECK(h.zk->nodes[kA].owner == h.zk->session);
  CHECK(h.zk->nodes.count(kB) == 0);
  CHECK(h.zk->nodes.count("/services/svc") == 1);
  CHECK(h.zk->nodes[owner_record_path("unit")].data.find(session_hex(h.zk->session)) !=
        std::string::npos);
  CHECK(h.registry->state().in_sync);
  CHECK(h.registry->state().registered_ids == std::set<std::string>{"a"});
}

TEST_CASE("zookeeper registry: a create whose answer was lost is read back, not written twice") {
  Harness h;
  h.start(set_of({}));
  h.zk->lose_create_of = kA;
  h.registry->apply(set_of({reg("a")}));
  h.settle();
  CHECK_FALSE(h.registry->state().in_sync);
  const auto version = h.zk->nodes.at(kA).version;
  h.zk->connect();  // the same session resumes
  h.settle();
  CHECK(h.registry->state().in_sync);
  CHECK(h.zk->nodes.at(kA).version == version);  // found ours by reading back
  CHECK(h.zk->opens == 1);
}

TEST_CASE("zookeeper registry: an expired session is replaced and everything created again") {
  Harness h;
  h.start(set_of({reg("a"), reg("b")}));
  const auto first = h.zk->session;
  h.zk->expire();
  h.settle();
  CHECK(h.zk->opens == 2);
  REQUIRE(h.zk->nodes.count(kA) == 1);
  CHECK(h.zk->nodes[kA].owner != first);
  CHECK(h.zk->nodes[kB].owner == h.zk->session);
  CHECK(h.registry->state().in_sync);
}

TEST_CASE("zookeeper registry: a node held by another session is never deleted, taken when free") {
  Harness h;
  h.zk->nodes["/services"] = {"", 0, 0};
  h.zk->nodes["/services/svc"] = {"", 0, 0};
  h.zk->nodes[kA] = {"theirs", 7, 0};
  h.start(set_of({reg("a")}));
  CHECK(h.zk->nodes[kA].data == "theirs");
  CHECK_FALSE(h.registry->state().in_sync);
  h.pass_time(100ms);  // retried on its backoff: still theirs, still untouched
  CHECK(h.zk->nodes[kA].owner == 7);
  h.zk->nodes.erase(kA);  // their session ended
  h.pass_time(100ms);
  REQUIRE(h.zk->nodes.count(kA) == 1);
  CHECK(h.zk->nodes[kA].owner == h.zk->session);
  CHECK(h.registry->state().in_sync);
  // Not desired any more: deleted, since it is ours now.
  h.registry->apply(set_of({reg("a", Health::Critical)}));
  h.settle();
  CHECK(h.zk->nodes.count(kA) == 0);
}

TEST_CASE("zookeeper registry: a node deleted from outside is back at the next resync") {
  Harness h;
  h.start(set_of({reg("a")}));
  h.zk->nodes.erase(kA);
  h.pass_time(999ms);
  CHECK(h.zk->nodes.count(kA) == 0);
  h.pass_time(1ms);
  CHECK(h.zk->nodes.count(kA) == 1);
}

TEST_CASE("zookeeper registry: shutdown removes the record and closes the session") {
  Harness h;
  h.start(set_of({reg("a")}));
  std::optional<bool> clean;
  h.registry->shutdown(5s, [&](bool c) { clean = c; });
  h.settle();
  REQUIRE(clean);
  CHECK(*clean);
  CHECK(h.zk->closed);
  CHECK(h.zk->nodes.count(kA) == 0);
  CHECK(h.zk->nodes.count(owner_record_path("unit")) == 0);
  h.registry->apply(set_of({reg("a"), reg("b")}));  // ignored from now on
  h.settle();
  CHECK(h.zk->nodes.count(kB) == 0);
}
