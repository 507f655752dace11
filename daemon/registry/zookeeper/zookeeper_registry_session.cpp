// The ZooKeeper backend's session: its events, the ownership record, the adoption of a previous
// run's nodes, and shutdown (closing the session deletes every ephemeral node of ours at once).
#include <spdlog/spdlog.h>

#include "config/duration.hpp"
#include "config/enums.hpp"
#include "registry/common/bind_weak.hpp"
#include "registry/zookeeper/entry_format.hpp"
#include "registry/zookeeper/owner_record.hpp"
#include "registry/zookeeper/zookeeper_registry.hpp"

namespace registrar::registry::zookeeper {

using common::bind_weak;

void ZooKeeperRegistry::open_session() {
  std::string auth;
  const auto& z = spec_.zookeeper;
  if (!z.username.empty()) {
    std::string password = z.password;
    if (!z.password_file.empty()) {
      std::string error;
      auto read = read_password_(z.password_file, error);
      if (!read) {
        // A file that cannot be read now may be readable later (rotation): retried.
        connectivity_.set(Connectivity::Down, "registry.zookeeper.auth.password_file: " + error,
                          error, "not connected");
        retry_.later();
        loop_.end();
        need_open_ = true;
        return;
      }
      password = *read;
    }
    auth = z.username + ":" + password;
  }
  ++epoch_;
  loop_.end();  // a batch of the previous handle no longer holds the loop
  connected_ = false;
  const std::string error =
      transport_->open(auth, bind_weak(this, &ZooKeeperRegistry::on_session, epoch_));
  if (!error.empty()) {
    connectivity_.set(Connectivity::Down, error, error);
    need_open_ = true;
    retry_.later();
    return;
  }
  // The library tries the servers on its own, forever; this only says so once.
  connect_deadline_.arm_after(z.session_timeout, [this] {
    if (!connected_)
      connectivity_.set(Connectivity::Down, "no ZooKeeper server answers", "no session");
  });
}

void ZooKeeperRegistry::on_session(std::uint64_t epoch, const SessionEvent& e) {
  if (epoch != epoch_) return;
  switch (e.kind) {
    case SessionEvent::Kind::Connected:
      return on_connected(e);
    case SessionEvent::Kind::Connecting:
      // The library reconnects to the same session; requests in flight answer
      // ZCONNECTIONLOSS and are read back once it is back.
      connected_ = false;
      if (latch_.active()) return;
      connectivity_.set(Connectivity::Down, "connection to ZooKeeper lost", "connection lost");
      expiry_guard_.arm_after(
          std::chrono::milliseconds(
              negotiated_timeout_ms_ > 0
                  ? negotiated_timeout_ms_
                  : static_cast<int>(spec_.zookeeper.session_timeout.count())),
          [this] {
            if (!connected_)
              session_lost("no ZooKeeper server answered within the negotiated session timeout");
          });
      return;
    case SessionEvent::Kind::Expired:
      if (latch_.active()) return latch_.finish(false);
      return session_lost("the server expired it");
    case SessionEvent::Kind::AuthFailed:
      connected_ = false;
      if (latch_.active()) return latch_.finish(false);
      connectivity_.set(Connectivity::Down,
                        "ZooKeeper refused the digest credentials of " + spec_.zookeeper.username,
                        "authentication failed", "refusing us");
      need_open_ = true;
      retry_.later();
      return;
  }
}

// The session is gone (expired by the server, or presumed so after a silence as long as its
// timeout): its ephemeral nodes with it. A new handle, and every healthy entry created again;
// logged once per loss.
void ZooKeeperRegistry::session_lost(const std::string& why) {
  spdlog::warn(
      "registry: ZooKeeper session {} lost ({}): opening a new session, every healthy entry will "
      "be created again",
      session_hex(session_), why);
  connected_ = false;
  expiry_guard_.cancel();
  connectivity_.set(Connectivity::Down, "ZooKeeper session lost: " + why, "session lost");
  open_session();
}

void ZooKeeperRegistry::on_connected(const SessionEvent& e) {
  connect_deadline_.cancel();
  expiry_guard_.cancel();
  connected_ = true;
  server_ = e.server;
  negotiated_timeout_ms_ = e.negotiated_timeout_ms;
  if (e.session != session_) {
    if (had_session_) meter_.regrant();
    spdlog::info(
        "registry: ZooKeeper session {} established via {}, negotiated timeout {} ms ({} "
        "asked)",
        session_hex(e.session), e.server, e.negotiated_timeout_ms,
        config::format_duration(spec_.zookeeper.session_timeout));
    session_ = e.session;
    own_sessions_.insert(e.session);
    replace_.clear();
    had_session_ = true;
    own_.clear();
    unknown_.clear();
    conflicts_.clear();
    conflicts_timer_.cancel();
    record_written_ = false;
    verify_all_ = false;
  } else {
    verify_all_ = true;  // what was in flight when the connection went is read back
  }
  if (latch_.active()) return close_session_for_shutdown();
  connectivity_.set(Connectivity::Up, state_.last_error);
  retry_.cut_short();
  loop_.run();
}

void ZooKeeperRegistry::write_record() {
  auto b = begin_batch();
  b->pending = 1;
  const std::string data =
      owner_record_data(spec_.zookeeper.owner, session_, spec_.zookeeper.base_path,
                        std::string(to_string(spec_.zookeeper.format)));
  // Created, or (a record of an earlier session) overwritten.
  transport_->create(record_path_, data, NodeMode::Persistent,
                     [this, weak = weak_from_this(), b, data, sent = meter_.sent()](
                         int code, const NodeStat& stat) {
                       if (!weak.lock()) return;
                       if (code != rc::kNodeExists) return on_record_written(b, sent, code, stat);
                       ++b->pending;
                       transport_->set(
                           record_path_, data, -1,
                           bind_weak(this, &ZooKeeperRegistry::on_record_written, b, sent));
                       meter_.request("create", true, sent);
                       settle(b);
                     });
}

void ZooKeeperRegistry::on_record_written(std::shared_ptr<Batch> b, time_point sent, int code,
                                          const NodeStat& stat) {
  meter_.request("record", code == rc::kOk, sent);
  spdlog::debug("registry: ownership record {} written: {}", record_path_, rc_name(code));
  if (!current(b)) return;
  if (code == rc::kOk) {
    record_written_ = true;
    record_version_ = stat.version;
  } else if (code == rc::kNoNode) {
    parents_needed_.insert(kOwnersPath);
  } else if (!outcome_unknown(code)) {
    failed("the ownership record", record_path_, code);
  }
  settle(b);
}

// Once per run, before anything is written: a previous run of this daemon (same owner) may have
// left nodes on a session that is still alive (it was SIGKILLed, or handed over). The record
// names that session; its nodes are found under the base path. Those the manifest names are
// reported as inherited (the supervisor starts them healthy) and replaced atomically by nodes of
// this session (one zoo_multi: delete at the version read, create): no gap a watcher can see.
// The others are deleted. A node of any other session is never touched.
void ZooKeeperRegistry::adopt() {
  auto b = begin_batch();
  b->pending = 1;
  transport_->get(record_path_,
                  bind_weak(this, &ZooKeeperRegistry::on_record_read, b, meter_.sent()));
}

void ZooKeeperRegistry::on_record_read(std::shared_ptr<Batch> b, time_point sent, int code,
                                       const std::string& data, const NodeStat&) {
  meter_.request("get", code == rc::kOk || code == rc::kNoNode, sent);
  spdlog::debug("registry: ownership record {}: {}", record_path_, rc_name(code));
  if (!current(b)) return;
  if (code == rc::kNoNode) {
    adopted_ = true;
  } else if (code == rc::kOk) {
    const auto previous = owner_record_session(data);
    if (!previous || *previous == session_) {
      adopted_ = true;
    } else {
      scan_ = std::make_shared<Scan>();
      scan_->previous = *previous;
      own_sessions_.insert(*previous);
      ++b->pending;
      transport_->children(spec_.zookeeper.base_path,
                           [this, weak = weak_from_this(), b, sent = meter_.sent()](
                               int c, const std::vector<std::string>& names) {
                             if (!weak.lock()) return;
                             on_names(b, sent, c, names);
                           });
    }
  } else if (!outcome_unknown(code)) {
    failed("reading the ownership record", record_path_, code);
  }
  settle(b);
}

void ZooKeeperRegistry::on_names(std::shared_ptr<Batch> b, time_point sent, int code,
                                 const std::vector<std::string>& names) {
  meter_.request("children", code == rc::kOk || code == rc::kNoNode, sent);
  if (!current(b)) return;
  if (code == rc::kOk && !names.empty()) {
    scan_->pending = names.size();
    b->pending += names.size();
    for (const auto& name : names) {
      const std::string parent = spec_.zookeeper.base_path + "/" + name;
      transport_->children(parent, [this, weak = weak_from_this(), b, parent, sent = meter_.sent()](
                                       int c, const std::vector<std::string>& kids) {
        if (!weak.lock()) return;
        on_children(b, parent, sent, c, kids);
      });
    }
  } else if (code == rc::kOk || code == rc::kNoNode) {
    adopted_ = true;  // nothing under the base path
  }
  settle(b);
}

void ZooKeeperRegistry::on_children(std::shared_ptr<Batch> b, std::string parent, time_point sent,
                                    int code, const std::vector<std::string>& kids) {
  meter_.request("children", code == rc::kOk || code == rc::kNoNode, sent);
  if (!current(b)) return;
  if (code == rc::kOk || code == rc::kNoNode) {
    for (const auto& k : kids) scan_->paths.push_back(parent + "/" + k);
  } else {
    scan_->failed = true;
  }
  if (--scan_->pending == 0) {
    if (scan_->failed || scan_->paths.empty()) {
      adopted_ = !scan_->failed;
    } else {
      scan_->pending = scan_->paths.size();
      b->pending += scan_->paths.size();
      for (const auto& path : scan_->paths) {
        transport_->get(path, [this, weak = weak_from_this(), b, path, sent = meter_.sent()](
                                  int c, const std::string& data, const NodeStat& stat) {
          if (!weak.lock()) return;
          on_scanned(b, path, sent, c, data, stat);
        });
      }
    }
  }
  settle(b);
}

void ZooKeeperRegistry::on_scanned(std::shared_ptr<Batch> b, std::string path, time_point sent,
                                   int code, const std::string& data, const NodeStat& stat) {
  meter_.request("get", code == rc::kOk || code == rc::kNoNode, sent);
  if (!current(b)) return;
  if (code == rc::kOk && stat.ephemeral_owner == scan_->previous) {
    scan_->found[path] = {data, stat};
  } else if (code != rc::kOk && code != rc::kNoNode) {
    scan_->failed = true;
  }
  if (--scan_->pending == 0) {
    if (!scan_->failed) take_over(b);
  }
  settle(b);
}

void ZooKeeperRegistry::take_over(const std::shared_ptr<Batch>& b) {
  const auto& z = spec_.zookeeper;
  std::set<std::string> inherited;
  for (const auto& [path, node] : scan_->found) {
    const auto d = decode(z.format, z.base_path, path, node.first);
    if (!d) continue;
    auto it = desired_.find(d->id);
    if (it != desired_.end() && entry_path(z.format, z.base_path, it->second) == path)
      inherited.insert(d->id);
  }
  adopted_ = true;
  if (!inherited.empty()) {
    state_.inherited_ids = inherited;
    // The supervisor may apply() from inside this callback: the loop is in flight, so that only
    // updates the desired set.
    if (on_state_) on_state_(state_);
  }
  auto want = wanted();
  // An inherited entry is wanted as healthy: the supervisor starts it so (inherited_ids), but may
  // apply that in a later turn of the loop. Without this, a first apply made before the probe's
  // first result (health not yet passing) deleted the node and wrote it again: the gap a restart
  // must not show (seen on a clean clone: "replacing 0 the manifest names, removing 1").
  for (const auto& id : inherited) {
    Registration r = desired_.at(id);
    r.health = Health::Passing;
    const std::string path = entry_path(z.format, z.base_path, r);
    if (!want.contains(path)) want[path] = encode(z.format, z.base_path, r, 0).data;
  }
  std::size_t kept = 0;
  for (const auto& [path, node] : scan_->found) {
    auto w = want.find(path);
    ++b->pending;
    if (w != want.end()) {
      ++kept;
      std::vector<MultiOp> ops{
          {MultiOp::Kind::Delete, path, "", NodeMode::Ephemeral, node.second.version},
          {MultiOp::Kind::Create, path, w->second, NodeMode::Ephemeral, -1}};
      transport_->multi(std::move(ops), [this, weak = weak_from_this(), b, path, data = w->second,
                                         sent = meter_.sent()](int c) {
        if (!weak.lock()) return;
        meter_.request("multi", c == rc::kOk, sent);
        if (!current(b)) return;
        if (c == rc::kOk) {
          own_[path] = OwnNode{data, 0};
        } else {
          unknown_.insert(path);
        }
        settle(b);
      });
    } else {
      transport_->remove(path, node.second.version,
                         [this, weak = weak_from_this(), b, sent = meter_.sent()](int c) {
                           if (!weak.lock()) return;
                           meter_.request("delete", c == rc::kOk || c == rc::kNoNode, sent);
                           settle(b);
                         });
    }
  }
  spdlog::info(
      "registry: session {} of a previous run of this daemon (owner {}) still holds {} node(s): "
      "replacing {} the manifest names, removing {}",
      session_hex(scan_->previous), z.owner, scan_->found.size(), kept, scan_->found.size() - kept);
  scan_.reset();
}

void ZooKeeperRegistry::shutdown(std::chrono::milliseconds timeout, DoneCallback done) {
  shutting_down_ = true;
  loop_.stop();
  retry_.stop();
  resync_.cancel();
  conflicts_timer_.cancel();
  connect_deadline_.cancel();
  expiry_guard_.cancel();
  shutdown_done_ = std::move(done);
  latch_.open(
      timeout, [this](bool clean) { finish_shutdown(clean); },
      [this] {
        spdlog::warn(
            "registry: ZooKeeper did not answer within the shutdown timeout; the nodes left go "
            "when the server expires session {} (negotiated timeout {} ms)",
            session_hex(session_), negotiated_timeout_ms_);
      });
  if (connected_) close_session_for_shutdown();
  // Otherwise the library keeps trying the servers: once connected, the session is closed.
}

// The ownership record first (it would only name a dead session), then the session: closing it
// deletes every ephemeral node of ours at once, in one request whatever their number.
void ZooKeeperRegistry::close_session_for_shutdown() {
  if (closing_) return;
  closing_ = true;
  if (!record_written_) {
    transport_->close();
    return latch_.finish(true);
  }
  transport_->remove(record_path_, record_version_,
                     [this, weak = weak_from_this(), sent = meter_.sent()](int c) {
                       if (!weak.lock()) return;
                       meter_.request("delete", c == rc::kOk || c == rc::kNoNode, sent);
                       if (!latch_.active()) return;
                       if (outcome_unknown(c)) {
                         // The connection went (the server was killed, say) before the answer:
                         // the library keeps trying the servers, and once connected the session
                         // is closed (on_session); else the latch's timeout ends the wait.
                         closing_ = false;
                         return;
                       }
                       const bool clean = connected_;
                       transport_->close();
                       latch_.finish(clean);
                     });
}

void ZooKeeperRegistry::finish_shutdown(bool clean) {
  if (!clean) transport_->close();  // the library stops trying; the server expires the session
  if (clean) {
    own_.clear();
    state_.registered = 0;
    state_.registered_ids.clear();
  }
  spdlog::info("registry: ZooKeeper session {} closed{}", session_hex(session_),
               clean ? ": every node of ours deleted with it" : " without the server's answer");
  if (auto done = std::move(shutdown_done_)) done(clean);
}

}  // namespace registrar::registry::zookeeper
