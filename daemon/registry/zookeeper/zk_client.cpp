#include "registry/zookeeper/zk_client.hpp"

#include <zookeeper/zookeeper.h>

#include <boost/asio/post.hpp>
#include <utility>

namespace registrar::registry::zookeeper {

static_assert(rc::kOk == ZOK && rc::kConnectionLoss == ZCONNECTIONLOSS &&
              rc::kOperationTimeout == ZOPERATIONTIMEOUT && rc::kInvalidState == ZINVALIDSTATE &&
              rc::kNoNode == ZNONODE && rc::kNoAuth == ZNOAUTH && rc::kBadVersion == ZBADVERSION &&
              rc::kNodeExists == ZNODEEXISTS && rc::kSessionExpired == ZSESSIONEXPIRED &&
              rc::kClosing == ZCLOSING);

// The watcher's context: the executor to post to, and the session callback, which is called on
// the io_context only, and only while this handle is the current one (`closed` is read and
// written there alone).
struct ZkClient::Bridge : std::enable_shared_from_this<ZkClient::Bridge> {
  boost::asio::any_io_executor executor;
  SessionCallback on_event;
  ZkClient::NodeCallback on_node;  // a reader's watches; empty for the backend
  bool closed = false;
};

namespace {

// The library's log would print every reconnect attempt on stderr; the backend logs the
// session's changes itself, once each.
void drop_log(const char*) {}

NodeStat stat_of(const Stat* s) {
  NodeStat out;
  if (s != nullptr) {
    out.ephemeral_owner = s->ephemeralOwner;
    out.version = s->version;
    out.mzxid = s->mzxid;
  }
  return out;
}

int mode_of(NodeMode m) {
  switch (m) {
    case NodeMode::Ephemeral:
      return ZOO_EPHEMERAL;
    case NodeMode::Container:
      return ZOO_CONTAINER;
    case NodeMode::Persistent:
      return ZOO_PERSISTENT;
  }
  return ZOO_EPHEMERAL;
}

// Runs on the library's completion thread: copies the event and posts it.
void on_watch(zhandle_t* zh, int type, int state, const char* path, void* context) {
  if (context == nullptr) return;
  auto* bridge = static_cast<ZkClient::Bridge*>(context);
  if (type != ZOO_SESSION_EVENT) {
    // A node's watch fired (only a reader sets them).
    boost::asio::post(bridge->executor, [bridge = bridge->shared_from_this(),
                                         p = std::string(path != nullptr ? path : "")] {
      if (!bridge->closed && bridge->on_node) bridge->on_node(p);
    });
    return;
  }
  SessionEvent e;
  if (state == ZOO_CONNECTED_STATE) {
    e.kind = SessionEvent::Kind::Connected;
    e.session = zoo_client_id(zh)->client_id;
    e.negotiated_timeout_ms = zoo_recv_timeout(zh);
    const char* server = zoo_get_current_server(zh);
    if (server != nullptr) e.server = server;
  } else if (state == ZOO_EXPIRED_SESSION_STATE) {
    e.kind = SessionEvent::Kind::Expired;
  } else if (state == ZOO_AUTH_FAILED_STATE) {
    e.kind = SessionEvent::Kind::AuthFailed;
  } else if (state == ZOO_CONNECTING_STATE || state == ZOO_ASSOCIATING_STATE) {
    e.kind = SessionEvent::Kind::Connecting;
  } else {
    return;  // read-only and other states are not used
  }
  // The bridge lives while the handle does (ZkClient releases it after zookeeper_close), so it
  // is alive here; the posted handler holds a reference of its own.
  boost::asio::post(bridge->executor, [bridge = bridge->shared_from_this(), e] {
    if (!bridge->closed && bridge->on_event) bridge->on_event(e);
  });
}

// A request's context: the callback and the executor to post its result to. Deleted by the
// completion, which the library calls exactly once (with ZCLOSING at the latest, when the handle
// is closed).
template <class Callback>
struct Pending {
  boost::asio::any_io_executor executor;
  Callback done;
};

template <class Callback, class... Args>
void complete(const void* context, Args... args) {
  auto* p = static_cast<Pending<Callback>*>(const_cast<void*>(context));
  boost::asio::post(p->executor, [done = std::move(p->done), args...] { done(args...); });
  delete p;
}

struct MultiPending {
  boost::asio::any_io_executor executor;
  ZkTransport::Done done;
  std::vector<MultiOp> ops;  // owns the paths and data the zoo_op_t point to
  std::vector<zoo_op_t> zops;
  std::vector<zoo_op_result_t> results;
  std::vector<std::vector<char>> path_buffers;
  std::vector<Stat> stats;
};

}  // namespace

ZkClient::ZkClient(boost::asio::any_io_executor executor, const config::ZooKeeperSpec& spec)
    : executor_(std::move(executor)),
      session_timeout_ms_(static_cast<int>(spec.session_timeout.count())),
      digest_acl_(!spec.username.empty()),
      world_read_(spec.acl == config::ZooKeeperAcl::WorldRead) {
  for (const auto& s : spec.servers) connect_string_ += (connect_string_.empty() ? "" : ",") + s;
  connect_string_ += spec.chroot;
}

ZkClient::~ZkClient() {
  close();
}

std::string ZkClient::open(const std::string& auth, SessionCallback on_event) {
  close();
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  bridge_ = std::make_shared<Bridge>();
  bridge_->executor = executor_;
  bridge_->on_event = std::move(on_event);
  bridge_->on_node = on_node_;
  zh_ = zookeeper_init2(connect_string_.c_str(), on_watch, session_timeout_ms_, nullptr,
                        bridge_.get(), 0, drop_log);
  if (zh_ == nullptr) return "zookeeper_init failed for " + connect_string_;
  if (!auth.empty()) {
    // Queued now, sent on every (re)connection of this handle.
    const int r =
        zoo_add_auth(zh_, "digest", auth.data(), static_cast<int>(auth.size()), nullptr, nullptr);
    if (r != ZOK) return std::string("zoo_add_auth: ") + zerror(r);
  }
  return "";
}

void ZkClient::close() {
  if (zh_ == nullptr) return;
  bridge_->closed = true;
  zookeeper_close(zh_);  // joins the library's threads: every completion has been posted
  zh_ = nullptr;
  bridge_.reset();
}

void ZkClient::refuse(int code, std::function<void(int)> done) {
  boost::asio::post(executor_, [done = std::move(done), code] { done(code); });
}

namespace {

// The ACL of every node the daemon creates: open, or all for our digest identity ("auth" scheme:
// the identities of this session) and read for everyone.
const ACL_vector* acl_for(bool digest, bool world_read) {
  static char auth_scheme[] = "auth";
  static char empty[] = "";
  static char world_scheme[] = "world";
  static char anyone[] = "anyone";
  static ACL creator_world_read[] = {{ZOO_PERM_ALL, {auth_scheme, empty}},
                                     {ZOO_PERM_READ, {world_scheme, anyone}}};
  static ACL_vector with_read{2, creator_world_read};
  static ACL_vector creator_only{1, creator_world_read};
  if (!digest) return &ZOO_OPEN_ACL_UNSAFE;
  return world_read ? &with_read : &creator_only;
}

}  // namespace

void ZkClient::create(const std::string& path, const std::string& data, NodeMode mode,
                      StatDone done) {
  using P = Pending<std::function<void(int, NodeStat)>>;
  auto* p = new P{executor_, [done = std::move(done)](int c, NodeStat s) { done(c, s); }};
  const int r = zh_ == nullptr
                    ? ZINVALIDSTATE
                    : zoo_acreate2(
                          zh_, path.c_str(), data.data(), static_cast<int>(data.size()),
                          acl_for(digest_acl_, world_read_), mode_of(mode),
                          [](int c, const char*, const Stat* s, const void* ctx) {
                            complete<std::function<void(int, NodeStat)>>(ctx, c, stat_of(s));
                          },
                          p);
  if (r != ZOK) {
    auto cb = std::move(p->done);
    delete p;
    refuse(r, [cb](int c) { cb(c, NodeStat{}); });
  }
}

void ZkClient::set(const std::string& path, const std::string& data, std::int32_t version,
                   StatDone done) {
  using P = Pending<std::function<void(int, NodeStat)>>;
  auto* p = new P{executor_, [done = std::move(done)](int c, NodeStat s) { done(c, s); }};
  const int r = zh_ == nullptr
                    ? ZINVALIDSTATE
                    : zoo_aset(
                          zh_, path.c_str(), data.data(), static_cast<int>(data.size()), version,
                          [](int c, const Stat* s, const void* ctx) {
                            complete<std::function<void(int, NodeStat)>>(ctx, c, stat_of(s));
                          },
                          p);
  if (r != ZOK) {
    auto cb = std::move(p->done);
    delete p;
    refuse(r, [cb](int c) { cb(c, NodeStat{}); });
  }
}

void ZkClient::remove(const std::string& path, std::int32_t version, Done done) {
  using P = Pending<std::function<void(int)>>;
  auto* p = new P{executor_, std::move(done)};
  const int r =
      zh_ == nullptr
          ? ZINVALIDSTATE
          : zoo_adelete(
                zh_, path.c_str(), version,
                [](int c, const void* ctx) { complete<std::function<void(int)>>(ctx, c); }, p);
  if (r != ZOK) {
    auto cb = std::move(p->done);
    delete p;
    refuse(r, std::move(cb));
  }
}

void ZkClient::get(const std::string& path, DataDone done) {
  get_data(path, 0, std::move(done));
}

void ZkClient::watch_get(const std::string& path, DataDone done) {
  get_data(path, 1, std::move(done));
}

void ZkClient::children(const std::string& path, ChildrenDone done) {
  get_children(path, 0, std::move(done));
}

void ZkClient::watch_children(const std::string& path, ChildrenDone done) {
  get_children(path, 1, std::move(done));
}

void ZkClient::watch_exists(const std::string& path, Done done) {
  using P = Pending<std::function<void(int)>>;
  auto* p = new P{executor_, std::move(done)};
  const int r = zh_ == nullptr ? ZINVALIDSTATE
                               : zoo_aexists(
                                     zh_, path.c_str(), 1,
                                     [](int c, const Stat*, const void* ctx) {
                                       complete<std::function<void(int)>>(ctx, c);
                                     },
                                     p);
  if (r != ZOK) {
    auto cb = std::move(p->done);
    delete p;
    refuse(r, std::move(cb));
  }
}

void ZkClient::get_data(const std::string& path, int watch, DataDone done) {
  using Cb = std::function<void(int, std::string, NodeStat)>;
  auto* p = new Pending<Cb>{
      executor_, [done = std::move(done)](int c, std::string d, NodeStat s) { done(c, d, s); }};
  const int r = zh_ == nullptr
                    ? ZINVALIDSTATE
                    : zoo_aget(
                          zh_, path.c_str(), watch,
                          [](int c, const char* v, int len, const Stat* s, const void* ctx) {
                            std::string d = (v != nullptr && len > 0)
                                                ? std::string(v, static_cast<std::size_t>(len))
                                                : std::string();
                            complete<Cb>(ctx, c, std::move(d), stat_of(s));
                          },
                          p);
  if (r != ZOK) {
    auto cb = std::move(p->done);
    delete p;
    refuse(r, [cb](int c) { cb(c, std::string(), NodeStat{}); });
  }
}

void ZkClient::get_children(const std::string& path, int watch, ChildrenDone done) {
  using Cb = std::function<void(int, std::vector<std::string>)>;
  auto* p = new Pending<Cb>{
      executor_, [done = std::move(done)](int c, std::vector<std::string> n) { done(c, n); }};
  const int r = zh_ == nullptr ? ZINVALIDSTATE
                               : zoo_aget_children(
                                     zh_, path.c_str(), watch,
                                     [](int c, const String_vector* names, const void* ctx) {
                                       std::vector<std::string> out;
                                       if (c == ZOK && names != nullptr)
                                         for (int i = 0; i < names->count; ++i)
                                           out.emplace_back(names->data[i]);
                                       complete<Cb>(ctx, c, std::move(out));
                                     },
                                     p);
  if (r != ZOK) {
    auto cb = std::move(p->done);
    delete p;
    refuse(r, [cb](int c) { cb(c, {}); });
  }
}

void ZkClient::multi(std::vector<MultiOp> ops, Done done) {
  auto* p = new MultiPending{executor_, std::move(done), std::move(ops), {}, {}, {}, {}};
  p->zops.resize(p->ops.size());
  p->results.resize(p->ops.size());
  p->path_buffers.resize(p->ops.size());
  p->stats.resize(p->ops.size());
  for (std::size_t i = 0; i < p->ops.size(); ++i) {
    const MultiOp& op = p->ops[i];
    switch (op.kind) {
      case MultiOp::Kind::Create:
        p->path_buffers[i].resize(op.path.size() + 16);
        zoo_create_op_init(&p->zops[i], op.path.c_str(), op.data.data(),
                           static_cast<int>(op.data.size()), acl_for(digest_acl_, world_read_),
                           mode_of(op.mode), p->path_buffers[i].data(),
                           static_cast<int>(p->path_buffers[i].size()));
        break;
      case MultiOp::Kind::Delete:
        zoo_delete_op_init(&p->zops[i], op.path.c_str(), op.version);
        break;
      case MultiOp::Kind::Set:
        zoo_set_op_init(&p->zops[i], op.path.c_str(), op.data.data(),
                        static_cast<int>(op.data.size()), op.version, &p->stats[i]);
        break;
    }
  }
  const int r =
      zh_ == nullptr
          ? ZINVALIDSTATE
          : zoo_amulti(
                zh_, static_cast<int>(p->zops.size()), p->zops.data(), p->results.data(),
                [](int c, const void* ctx) {
                  auto* m = static_cast<MultiPending*>(const_cast<void*>(ctx));
                  boost::asio::post(m->executor, [done = std::move(m->done), c] { done(c); });
                  delete m;
                },
                p);
  if (r != ZOK) {
    auto cb = std::move(p->done);
    delete p;
    refuse(r, std::move(cb));
  }
}

}  // namespace registrar::registry::zookeeper
