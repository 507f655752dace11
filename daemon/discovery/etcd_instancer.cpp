#include "discovery/etcd_instancer.hpp"

#include <spdlog/spdlog.h>

namespace registrar::discovery::etcd {

namespace {

std::string describe(const std::string& endpoint, const grpc::Status& status) {
  return "etcd at " + endpoint + ": " + status.error_message();
}

}  // namespace

std::shared_ptr<EtcdInstancer> EtcdInstancer::create(boost::asio::any_io_executor executor,
                                                     const config::RegistrySpec& spec, Query query,
                                                     const runtime::Clock& clock) {
  return std::shared_ptr<EtcdInstancer>(
      new EtcdInstancer(std::move(executor), spec, std::move(query), clock));
}

EtcdInstancer::EtcdInstancer(boost::asio::any_io_executor executor,
                             const config::RegistrySpec& spec, Query query,
                             const runtime::Clock& clock)
    : executor_(executor),
      spec_(spec.etcd),
      query_(std::move(query)),
      range_(entries_range(spec.etcd.format, spec.etcd.prefix, query_.name)),
      client_(executor, spec.etcd.endpoints, spec.etcd.dial_timeout),
      retry_timer_(executor, clock),
      backoff_(spec.backoff.initial, spec.backoff.max, spec.backoff.multiplier, spec.backoff.jitter,
               runtime::default_random()) {
  client_.configure(spec_);
}

void EtcdInstancer::take(Entries& entries, const std::string& key, const std::string& value) {
  std::string why;
  if (auto instance = parse_entry(range_, query_.name, key, value, why)) {
    entries[key] = std::move(*instance);
  } else {
    entries.erase(key);
    if (unreadable_.insert(key).second) spdlog::warn("etcd key {} skipped: {}", key, why);
  }
}

Event EtcdInstancer::event_of(const Entries& entries) const {
  InstanceSet set;
  for (const auto& [key, instance] : entries) set.emplace(instance.id, instance);
  return Event::of(select(set, query_));
}

void EtcdInstancer::range(
    std::function<void(const grpc::Status&, Entries, std::int64_t revision)> done) {
  etcdserverpb::TxnRequest txn;
  auto* r = txn.add_success()->mutable_request_range();
  r->set_key(range_.key);
  r->set_range_end(range_.range_end);
  client_.txn(std::move(txn), [self = shared_from_this(), done = std::move(done)](
                                  const grpc::Status& status, etcdserverpb::TxnResponse&& resp) {
    Entries entries;
    if (!status.ok()) return done(status, {}, 0);
    if (resp.responses_size() != 1 || !resp.responses(0).has_response_range())
      return done(grpc::Status(grpc::StatusCode::INTERNAL, "etcd answered a Range without kvs"), {},
                  0);
    for (const auto& kv : resp.responses(0).response_range().kvs())
      self->take(entries, kv.key(), kv.value());
    done(status, std::move(entries), resp.header().revision());
  });
}

void EtcdInstancer::list(OnEvent done) {
  range([self = shared_from_this(), done = std::move(done)](const grpc::Status& status,
                                                            Entries entries, std::int64_t) {
    if (self->stopped_) return;
    if (!status.ok()) return done(Event::failure(describe(self->client_.endpoint(), status)));
    done(self->event_of(entries));
  });
}

void EtcdInstancer::watch(OnEvent on_event) {
  on_event_ = std::move(on_event);
  start_round();
}

void EtcdInstancer::stop() {
  stopped_ = true;
  retry_timer_.cancel();
  if (stream_) stream_->cancel();
  stream_.reset();
  client_.cancel_all();
}

void EtcdInstancer::start_round() {
  if (stopped_) return;
  if (stream_) stream_->cancel();
  stream_.reset();
  const std::uint64_t round = ++round_;
  range([weak = weak_from_this(), round](const grpc::Status& status, Entries entries,
                                         std::int64_t revision) {
    if (auto self = weak.lock()) self->on_range(round, status, std::move(entries), revision);
  });
}

void EtcdInstancer::on_range(std::uint64_t round, const grpc::Status& status, Entries entries,
                             std::int64_t revision) {
  if (stopped_ || round != round_) return;
  if (!status.ok()) return failed(describe(client_.endpoint(), status));
  entries_ = std::move(entries);
  std::string error;
  auto target = client_.stream_target(error);
  if (!target) return failed("etcd at " + client_.endpoint() + ": " + error);
  etcdserverpb::WatchCreateRequest create;
  create.set_key(range_.key);
  create.set_range_end(range_.range_end);
  // From the revision after the Range: every change since the read, none twice.
  create.set_start_revision(revision + 1);
  auto weak = weak_from_this();
  stream_ = WatchStream::open(
      executor_, target->channel, target->token, std::move(create),
      [weak, round](const etcdserverpb::WatchResponse& resp) {
        if (auto self = weak.lock()) self->on_watch_response(round, resp);
      },
      [weak, round, target = *target](const grpc::Status& s) {
        if (auto self = weak.lock()) {
          self->client_.stream_ended(target, s);
          self->on_watch_closed(round, s);
        }
      });
  report();
}

void EtcdInstancer::on_watch_response(std::uint64_t round,
                                      const etcdserverpb::WatchResponse& resp) {
  if (stopped_ || round != round_) return;
  if (resp.canceled() || resp.compact_revision() > 0) {
    // The revision after our Range is compacted away (or etcd ended the watch): changes may be
    // missing, so read the whole range again.
    spdlog::debug("etcd watch ended ({}); reading {} again",
                  resp.cancel_reason().empty() ? "compacted" : resp.cancel_reason(), range_.key);
    return start_round();
  }
  if (resp.events_size() == 0) return;  // created, or a progress notification
  for (const auto& ev : resp.events()) {
    if (ev.type() == etcdserverpb::Event::DELETE)
      entries_.erase(ev.kv().key());
    else
      take(entries_, ev.kv().key(), ev.kv().value());
  }
  report();
}

void EtcdInstancer::on_watch_closed(std::uint64_t round, const grpc::Status& status) {
  if (stopped_ || round != round_) return;
  stream_.reset();
  failed(describe(client_.endpoint(), status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                                 "the watch stream ended")
                                                  : status));
}

void EtcdInstancer::failed(const std::string& why) {
  const Event event = Event::failure(why);
  if (on_event_ && filter_.news(event)) on_event_(event);
  retry_timer_.arm_after(backoff_.next(), [this] { start_round(); });
}

void EtcdInstancer::report() {
  backoff_.reset();
  const Event event = event_of(entries_);
  if (on_event_ && filter_.news(event)) on_event_(event);
}

}  // namespace registrar::discovery::etcd
