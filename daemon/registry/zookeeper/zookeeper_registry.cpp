#include "registry/zookeeper/zookeeper_registry.hpp"

#include <spdlog/spdlog.h>

#include "config/enums.hpp"
#include "registry/common/bind_weak.hpp"
#include "registry/zookeeper/entry_format.hpp"
#include "registry/zookeeper/owner_record.hpp"

namespace registrar::registry::zookeeper {

using common::bind_weak;

ZooKeeperRegistry::ZooKeeperRegistry(boost::asio::any_io_executor executor,
                                     const config::RegistrySpec& spec,
                                     std::unique_ptr<ZkTransport> transport,
                                     const runtime::Clock& clock, runtime::Backoff::Random random,
                                     ReadPassword read_password,
                                     metrics::RegistryObserver& observer)
    : spec_(spec),
      clock_(clock),
      meter_(observer, clock),
      transport_(std::move(transport)),
      read_password_(std::move(read_password)),
      record_path_(owner_record_path(spec.zookeeper.owner.empty() ? std::string("grpc-registrar")
                                                                  : spec.zookeeper.owner)),
      connectivity_(state_, on_state_,
                    {[this] {
                       std::string servers;
                       for (const auto& s : spec_.zookeeper.servers)
                         servers += (servers.empty() ? "" : ",") + s;
                       return "ZooKeeper (" + servers + ")";
                     },
                     [this] {
                       return "ZooKeeper reachable via " + server_ + " (session " +
                              session_hex(session_) + ", negotiated timeout " +
                              std::to_string(negotiated_timeout_ms_) + " ms)";
                     }}),
      retry_(executor, clock, spec.backoff, std::move(random), [this] { loop_.run(); }),
      loop_([this] { pass(); }, retry_),
      latch_(executor, clock),
      connect_deadline_(executor, clock),
      resync_(executor, clock),
      conflicts_timer_(executor, clock),
      expiry_guard_(executor, clock) {}

ZooKeeperRegistry::~ZooKeeperRegistry() = default;

void ZooKeeperRegistry::start(StateCallback on_state_change) {
  on_state_ = std::move(on_state_change);
  open_session();
}

void ZooKeeperRegistry::apply(const DesiredSet& desired) {
  if (shutting_down_) return;
  applied_ = true;
  desired_ = desired;
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.wall_now().time_since_epoch())
          .count();
  std::map<std::string, std::int64_t> kept;
  for (const auto& [id, r] : passing(desired_)) {
    const std::string path = entry_path(spec_.zookeeper.format, spec_.zookeeper.base_path, r);
    auto it = registered_ms_.find(path);
    kept[path] = it != registered_ms_.end() ? it->second : now_ms;
  }
  registered_ms_ = std::move(kept);
  loop_.run();
}

std::map<std::string, std::string> ZooKeeperRegistry::wanted() const {
  std::map<std::string, std::string> out;
  for (const auto& [id, r] : desired_) {
    if (r.health != Health::Passing) continue;
    const std::string path = entry_path(spec_.zookeeper.format, spec_.zookeeper.base_path, r);
    auto ms = registered_ms_.find(path);
    out[path] = encode(spec_.zookeeper.format, spec_.zookeeper.base_path, r,
                       ms != registered_ms_.end() ? ms->second : 0)
                    .data;
  }
  return out;
}

// One pass: at most one step, in this order. Nothing is written before the previous run's nodes
// have been dealt with and our ownership record names this session.
void ZooKeeperRegistry::pass() {
  if (shutting_down_) return;
  if (need_open_) {
    need_open_ = false;
    return open_session();
  }
  if (!connected_ || !applied_) return;
  if (!adopted_) return adopt();
  if (!parents_needed_.empty()) return create_parents();
  if (!record_written_) return write_record();
  if (!replace_.empty()) return replace_own();
  const auto now = clock_.now();
  bool conflict_due = false;
  for (const auto& [path, c] : conflicts_) conflict_due = conflict_due || c.retry_at <= now;
  if (verify_all_ || !unknown_.empty() || conflict_due) return verify();
  std::set<std::string> held = unknown_;
  for (const auto& [path, c] : conflicts_) held.insert(path);
  const NodePlan plan = plan_nodes(wanted(), own_, held, kMaxBatch);
  if (plan.empty()) {
    state_.inherited_ids.clear();  // replaced by nodes of this session by now, or removed
    publish();
    arm_resync();
    return;
  }
  write(plan);
}

std::shared_ptr<ZooKeeperRegistry::Batch> ZooKeeperRegistry::begin_batch() {
  loop_.begin();
  return std::make_shared<Batch>(Batch{0, epoch_});
}

bool ZooKeeperRegistry::current(const std::shared_ptr<Batch>& batch) const {
  return batch->session_epoch == epoch_ && !shutting_down_;
}

void ZooKeeperRegistry::settle(const std::shared_ptr<Batch>& batch) {
  if (!current(batch) || batch->pending == 0) return;
  if (--batch->pending > 0) return;
  loop_.end();
  publish();
  loop_.run();
}

void ZooKeeperRegistry::create_parents() {
  std::set<std::string> paths;
  for (const auto& p : parents_needed_) {
    for (const auto& a : ancestors(p)) paths.insert(a);
    paths.insert(p);
  }
  parents_needed_.clear();
  auto b = begin_batch();
  b->pending = paths.size();
  // In path order, so each parent is created before its children (one session's requests are
  // applied in the order sent). Our ownership record's parents are persistent; the entries'
  // are containers, which ZooKeeper deletes once their last child is gone.
  for (const auto& path : paths) {
    const bool record = path == "/grpc-registrar" || path == kOwnersPath;
    transport_->create(
        path, "", record ? NodeMode::Persistent : NodeMode::Container,
        [this, weak = weak_from_this(), b, path, sent = meter_.sent()](int code, const NodeStat&) {
          if (!weak.lock()) return;
          meter_.request("create", code == rc::kOk || code == rc::kNodeExists, sent);
          if (current(b) && code != rc::kOk && code != rc::kNodeExists) {
            if (code == rc::kNoNode || outcome_unknown(code)) {
              parents_needed_.insert(path);
            } else {
              failed("create parent", path, code);
            }
          }
          settle(b);
        });
  }
}

void ZooKeeperRegistry::verify() {
  std::set<std::string> paths = unknown_;
  const auto now = clock_.now();
  for (const auto& [path, c] : conflicts_)
    if (c.retry_at <= now) paths.insert(path);
  if (verify_all_) {
    for (const auto& [path, node] : own_) paths.insert(path);
    for (const auto& [path, data] : wanted()) paths.insert(path);
  }
  verify_all_ = false;
  unknown_.clear();
  if (paths.empty()) return loop_.run();
  auto b = begin_batch();
  b->pending = paths.size();
  for (const auto& path : paths)
    transport_->get(path, bind_weak(this, &ZooKeeperRegistry::on_verified, b, path, meter_.sent()));
}

void ZooKeeperRegistry::on_verified(std::shared_ptr<Batch> b, std::string path, time_point sent,
                                    int code, const std::string& data, const NodeStat& stat) {
  meter_.request("get", code == rc::kOk || code == rc::kNoNode, sent);
  if (!current(b)) return;
  if (code == rc::kOk && stat.ephemeral_owner == session_) {
    own_[path] = OwnNode{data, stat.version};
    if (conflicts_.erase(path) != 0) spdlog::info("registry: conflict over: {} is ours", path);
  } else if (code == rc::kOk && own_sessions_.count(stat.ephemeral_owner) != 0) {
    own_.erase(path);
    replace_[path] = stat.version;  // an earlier session of ours still holds it
  } else if (code == rc::kOk) {
    own_.erase(path);
    if (wanted().count(path) != 0) conflict(path, stat.ephemeral_owner);
  } else if (code == rc::kNoNode) {
    own_.erase(path);
    if (conflicts_.erase(path) != 0)
      spdlog::info("registry: conflict over: {} is free again, creating it", path);
  } else if (outcome_unknown(code)) {
    unknown_.insert(path);
  } else {
    unknown_.insert(path);
    failed("read back", path, code);
  }
  settle(b);
}

void ZooKeeperRegistry::write(const NodePlan& plan) {
  const auto want = wanted();
  auto b = begin_batch();
  b->pending = plan.size();
  for (const auto& path : plan.create) {
    const std::string& data = want.at(path);
    transport_->create(
        path, data, NodeMode::Ephemeral,
        bind_weak(this, &ZooKeeperRegistry::on_created, b, path, data, meter_.sent()));
  }
  for (const auto& path : plan.set) {
    const std::string& data = want.at(path);
    transport_->set(path, data, own_.at(path).version,
                    bind_weak(this, &ZooKeeperRegistry::on_set, b, path, data, meter_.sent()));
  }
  for (const auto& [path, version] : plan.remove)
    transport_->remove(path, version,
                       bind_weak(this, &ZooKeeperRegistry::on_removed, b, path, meter_.sent()));
}

// Nodes an earlier session of ours still holds: replaced by nodes of this session in one multi
// each (delete at the version read, create), or only deleted when no longer wanted.
void ZooKeeperRegistry::replace_own() {
  const auto want = wanted();
  auto b = begin_batch();
  b->pending = replace_.size();
  for (const auto& [path, version] : replace_) {
    std::vector<MultiOp> ops{{MultiOp::Kind::Delete, path, "", NodeMode::Ephemeral, version}};
    auto w = want.find(path);
    if (w != want.end())
      ops.push_back({MultiOp::Kind::Create, path, w->second, NodeMode::Ephemeral, -1});
    transport_->multi(std::move(ops), [this, weak = weak_from_this(), b, path,
                                       data = w != want.end() ? w->second : std::string(),
                                       created = w != want.end(), sent = meter_.sent()](int c) {
      if (!weak.lock()) return;
      meter_.request("multi", c == rc::kOk, sent);
      if (!current(b)) return;
      if (c == rc::kOk && created) own_[path] = OwnNode{data, 0};
      if (c != rc::kOk) unknown_.insert(path);  // read back: gone by now, or changed
      settle(b);
    });
  }
  replace_.clear();
}

void ZooKeeperRegistry::on_created(std::shared_ptr<Batch> b, std::string path, std::string data,
                                   time_point sent, int code, const NodeStat& stat) {
  meter_.request("create", code == rc::kOk, sent);
  if (!current(b)) return;
  if (code == rc::kOk) {
    own_[path] = OwnNode{std::move(data), stat.version};
  } else if (code == rc::kNoNode) {
    parents_needed_.insert(path.substr(0, path.rfind('/')));
  } else if (code == rc::kNodeExists || outcome_unknown(code)) {
    unknown_.insert(path);  // ours from a request whose answer was lost, or someone else's
  } else {
    unknown_.insert(path);
    failed("create", path, code);
  }
  settle(b);
}

void ZooKeeperRegistry::on_set(std::shared_ptr<Batch> b, std::string path, std::string data,
                               time_point sent, int code, const NodeStat& stat) {
  meter_.request("set", code == rc::kOk, sent);
  if (!current(b)) return;
  if (code == rc::kOk) {
    own_[path] = OwnNode{std::move(data), stat.version};
  } else if (code == rc::kBadVersion || code == rc::kNoNode || outcome_unknown(code)) {
    unknown_.insert(path);
  } else {
    unknown_.insert(path);
    failed("set", path, code);
  }
  settle(b);
}

void ZooKeeperRegistry::on_removed(std::shared_ptr<Batch> b, std::string path, time_point sent,
                                   int code) {
  meter_.request("delete", code == rc::kOk || code == rc::kNoNode, sent);
  if (!current(b)) return;
  if (code == rc::kOk || code == rc::kNoNode) {
    own_.erase(path);
  } else if (code == rc::kBadVersion || outcome_unknown(code)) {
    unknown_.insert(path);
  } else {
    unknown_.insert(path);
    failed("delete", path, code);
  }
  settle(b);
}

// ZooKeeper answered but refused (ZNOAUTH, ...): logged once per distinct refusal, retried on
// the backoff. What was refused is read back first on the next attempt.
void ZooKeeperRegistry::failed(const std::string& what, const std::string& path, int code) {
  const std::string text = "ZooKeeper refused " + what + " of " + path + ": " + rc_name(code);
  if (text != refusal_) {
    spdlog::warn("registry: {}; retrying with backoff", text);
    refusal_ = text;
  }
  state_.last_error = text;
  retry_.later();
}

void ZooKeeperRegistry::conflict(const std::string& path, std::int64_t holder) {
  auto [it, fresh] = conflicts_.try_emplace(path, Conflict{holder, retry_.make_backoff(), {}});
  if (fresh || it->second.holder != holder) {
    spdlog::warn(
        "registry: conflict: {} is held by session {}, not by this daemon's ({}); it is never "
        "deleted, and looked at again with backoff",
        path, session_hex(holder), session_hex(session_));
  }
  it->second.holder = holder;
  it->second.retry_at = clock_.now() + it->second.backoff.next();
  arm_conflicts();
}

void ZooKeeperRegistry::arm_conflicts() {
  if (conflicts_.empty()) return conflicts_timer_.cancel();
  time_point first = conflicts_.begin()->second.retry_at;
  for (const auto& [path, c] : conflicts_) first = std::min(first, c.retry_at);
  conflicts_timer_.arm_at(first, [this] { loop_.run(); });
}

void ZooKeeperRegistry::arm_resync() {
  if (spec_.zookeeper.resync_interval.count() == 0 || resync_.armed()) return;
  resync_.arm_after(spec_.zookeeper.resync_interval, [this] {
    verify_all_ = true;
    loop_.run();
  });
}

void ZooKeeperRegistry::publish() {
  const auto want = wanted();
  std::set<std::string> ids;
  std::size_t registered = 0;
  bool synced = connected_ && adopted_ && unknown_.empty() && conflicts_.empty() &&
                parents_needed_.empty() && own_.size() == want.size();
  for (const auto& [id, r] : desired_) {
    if (r.health != Health::Passing) continue;
    const std::string path = entry_path(spec_.zookeeper.format, spec_.zookeeper.base_path, r);
    auto it = own_.find(path);
    if (it == own_.end()) {
      synced = false;
      continue;
    }
    ++registered;
    ids.insert(id);
    if (it->second.data != want.at(path)) synced = false;
  }
  if (synced && refusal_.empty()) state_.last_error.clear();
  if (synced) refusal_.clear();
  const bool changed =
      state_.in_sync != synced || state_.registered != registered || state_.registered_ids != ids;
  state_.in_sync = synced;
  state_.registered = registered;
  state_.registered_ids = std::move(ids);
  if (changed && on_state_) on_state_(state_);
}

}  // namespace registrar::registry::zookeeper
