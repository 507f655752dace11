#include "discovery/zookeeper_instancer.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "discovery/zookeeper_nodes.hpp"
#include "runtime/secret_file.hpp"

namespace registrar::discovery::zookeeper {

namespace zk = registry::zookeeper;

std::shared_ptr<ZooKeeperInstancer> ZooKeeperInstancer::create(
    boost::asio::any_io_executor executor, const config::RegistrySpec& spec, Query query,
    const runtime::Clock& clock) {
  return std::shared_ptr<ZooKeeperInstancer>(
      new ZooKeeperInstancer(std::move(executor), spec, std::move(query), clock));
}

ZooKeeperInstancer::ZooKeeperInstancer(boost::asio::any_io_executor executor,
                                       const config::RegistrySpec& spec, Query query,
                                       const runtime::Clock& clock)
    : executor_(executor),
      spec_(spec.zookeeper),
      query_(std::move(query)),
      path_(service_path(spec_.base_path, query_.name)),
      client_(std::make_unique<zk::ZkClient>(executor, spec_)),
      deadline_(executor, clock),
      retry_timer_(executor, clock),
      backoff_(spec.backoff.initial, spec.backoff.max, spec.backoff.multiplier, spec.backoff.jitter,
               runtime::default_random()) {}

ZooKeeperInstancer::~ZooKeeperInstancer() {
  stop();
}

std::string ZooKeeperInstancer::where() const {
  return "ZooKeeper at " + client_->connect_string() + ": ";
}

void ZooKeeperInstancer::list(OnEvent done) {
  waiters_.push_back(std::move(done));
  if (!opened_) return open();
  if (connected_) start_round();
}

void ZooKeeperInstancer::watch(OnEvent on_event) {
  on_event_ = std::move(on_event);
  if (!opened_) return open();
  if (connected_) start_round();
}

void ZooKeeperInstancer::stop() {
  if (stopped_) return;
  stopped_ = true;
  deadline_.cancel();
  retry_timer_.cancel();
  if (client_) client_->close();
}

void ZooKeeperInstancer::open() {
  if (stopped_) return;
  opened_ = true;
  connected_ = false;
  const std::uint64_t epoch = ++epoch_;
  std::string auth;
  if (!spec_.username.empty()) {
    std::string password = spec_.password;
    if (!spec_.password_file.empty()) {
      std::string error;
      auto read = runtime::read_secret_file(
          spec_.password_file, error,
          {.trim_trailing_newlines = true, .what = "registry.zookeeper.auth.password_file"});
      if (!read) return open_failed(error);
      password = *read;
    }
    auth = spec_.username + ":" + password;
  }
  auto weak = weak_from_this();
  client_->on_node_change([weak](const std::string&) {
    if (auto self = weak.lock()) self->on_node_change();
  });
  const std::string error = client_->open(auth, [weak, epoch](const zk::SessionEvent& e) {
    if (auto self = weak.lock()) self->on_session(epoch, e);
  });
  if (!error.empty()) return open_failed(error);
  deadline_.arm_after(spec_.session_timeout, [this] {
    failed("no session within " + std::to_string(spec_.session_timeout.count()) + " ms");
  });
}

void ZooKeeperInstancer::open_failed(const std::string& why) {
  failed(why);
  if (on_event_) retry_timer_.arm_after(backoff_.next(), [this] { open(); });
}

void ZooKeeperInstancer::on_session(std::uint64_t epoch, const zk::SessionEvent& e) {
  if (stopped_ || epoch != epoch_) return;
  switch (e.kind) {
    case zk::SessionEvent::Kind::Connected:
      connected_ = true;
      deadline_.cancel();
      // The library set our watches again if the session survived; read anyway, since changes
      // during the outage fired nothing we saw.
      start_round();
      break;
    case zk::SessionEvent::Kind::Connecting:
      connected_ = false;
      failed("connection lost; reconnecting");
      break;
    case zk::SessionEvent::Kind::Expired:
      connected_ = false;
      failed("session expired; opening a new one");
      boost::asio::post(executor_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) self->open();
      });
      break;
    case zk::SessionEvent::Kind::AuthFailed:
      connected_ = false;
      failed("authentication failed (registry.zookeeper.auth)");
      retry_timer_.arm_after(backoff_.next(), [this] { open(); });
      break;
  }
}

void ZooKeeperInstancer::on_node_change() {
  if (stopped_ || !connected_) return;
  if (!on_event_ && waiters_.empty()) return;  // a list() already answered
  start_round();
}

void ZooKeeperInstancer::start_round() {
  if (stopped_) return;
  if (in_round_) {
    again_ = true;
    return;
  }
  in_round_ = true;
  again_ = false;
  const std::uint64_t round = ++round_;
  reading_.clear();
  pending_ = 0;
  deadline_.arm_after(spec_.session_timeout, [this, round] {
    if (round != round_ || !in_round_) return;
    finish_round(round, Event::failure(where() + "no answer within " +
                                       std::to_string(spec_.session_timeout.count()) + " ms"));
  });
  client_->watch_children(
      path_, [weak = weak_from_this(), round](int code, const std::vector<std::string>& names) {
        if (auto self = weak.lock()) self->on_children(round, code, names);
      });
}

void ZooKeeperInstancer::on_children(std::uint64_t round, int code,
                                     const std::vector<std::string>& names) {
  if (stopped_ || round != round_ || !in_round_) return;
  if (code == zk::rc::kNoNode) {
    // No service node: no instances, legitimately. Watch for its creation; one created since
    // the read is read at once (its creation fired no watch of ours).
    client_->watch_exists(path_, [weak = weak_from_this()](int code) {
      auto self = weak.lock();
      if (self && code == zk::rc::kOk && !self->stopped_ && self->on_event_) self->start_round();
    });
    return finish_round(round, Event::of({}));
  }
  if (code != zk::rc::kOk)
    return finish_round(round,
                        Event::failure(where() + "reading " + path_ + ": " + zk::rc_name(code)));
  if (names.empty()) return finish_round(round, Event::of({}));
  pending_ = names.size();
  for (const std::string& child : names)
    client_->watch_get(path_ + "/" + child,
                       [weak = weak_from_this(), round, child](int c, const std::string& data,
                                                               const zk::NodeStat&) {
                         if (auto self = weak.lock()) self->on_child(round, child, c, data);
                       });
}

void ZooKeeperInstancer::on_child(std::uint64_t round, const std::string& child, int code,
                                  const std::string& data) {
  if (stopped_ || round != round_ || !in_round_) return;
  if (code != zk::rc::kOk && code != zk::rc::kNoNode) {
    pending_ = 0;
    return finish_round(round, Event::failure(where() + "reading " + path_ + "/" + child + ": " +
                                              zk::rc_name(code)));
  }
  // A child deleted since the listing is gone (its deletion fires the children's watch).
  if (code == zk::rc::kOk) {
    std::string why;
    if (auto i = parse_node(spec_.format, spec_.base_path, query_.name, child, data, why))
      reading_[i->id] = std::move(*i);
    else if (unreadable_.insert(child).second)
      spdlog::warn("ZooKeeper node {}/{} skipped: {}", path_, child, why);
  }
  if (--pending_ == 0) finish_round(round, Event::of(select(reading_, query_)));
}

void ZooKeeperInstancer::finish_round(std::uint64_t round, Event event) {
  if (round != round_) return;
  in_round_ = false;
  deadline_.cancel();
  if (!event.ok()) return failed(event.error);
  backoff_.reset();
  retry_timer_.cancel();
  deliver(event);
  if (again_) start_round();
}

void ZooKeeperInstancer::failed(const std::string& why) {
  const Event event = Event::failure(why.starts_with("ZooKeeper at ") ? why : where() + why);
  if (in_round_) {
    in_round_ = false;
    ++round_;  // answers of the failed round are stale
    deadline_.cancel();
  }
  deliver(event);
  // Read again on the backoff while connected (a refused read); a lost connection is read again
  // once the library has reconnected (Connected).
  if (on_event_ && connected_) retry_timer_.arm_after(backoff_.next(), [this] { start_round(); });
}

void ZooKeeperInstancer::deliver(const Event& event) {
  std::vector<OnEvent> waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& done : waiters) done(event);
  if (on_event_ && filter_.news(event)) on_event_(event);
}

}  // namespace registrar::discovery::zookeeper
