#include "health_service.hpp"

#include <spdlog/spdlog.h>

#include <deque>
#include <utility>

namespace hello_service {

namespace {

// A Watch stream keeps at most this many unsent messages; a client that stops reading while the
// status flaps gets the latest status instead of an unbounded backlog.
constexpr std::size_t kMaxPendingWrites = 32;

std::string Printable(const std::string& name) {
  return name.empty() ? std::string("\"\" (whole server)") : "\"" + name + "\"";
}

ServingStatus FromBool(bool serving) {
  return serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

// A Watch reactor that only reports a final status (used for --no-watch).
class FinishedWatch final : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  explicit FinishedWatch(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

const char* StatusName(ServingStatus status) {
  switch (status) {
    case HealthCheckResponse::UNKNOWN:
      return "UNKNOWN";
    case HealthCheckResponse::SERVING:
      return "SERVING";
    case HealthCheckResponse::NOT_SERVING:
      return "NOT_SERVING";
    case HealthCheckResponse::SERVICE_UNKNOWN:
      return "SERVICE_UNKNOWN";
    default:
      return "?";
  }
}

// A Check received in hang mode. It is in HealthService::held_ until either hang mode ends (the
// service answers it) or the client gives up (OnCancel). Whoever removes it from held_ calls
// Finish, so Finish happens exactly once and the reactor is never used after OnDone.
class HealthService::HeldCheck final : public grpc::ServerUnaryReactor {
 public:
  HeldCheck(HealthService* owner, std::string name, HealthCheckResponse* response)
      : owner_(owner), name_(std::move(name)), response_(response) {}

  const std::string& name() const { return name_; }

  void Answer(std::optional<ServingStatus> status) {
    if (!status) {
      Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service"));
      return;
    }
    response_->set_status(*status);
    Finish(grpc::Status::OK);
  }

  void OnCancel() override {
    if (owner_->TakeHeld(this)) Finish(grpc::Status::CANCELLED);
  }
  void OnDone() override { delete this; }

 private:
  HealthService* const owner_;
  const std::string name_;
  HealthCheckResponse* const response_;  // owned by gRPC, valid until OnDone
};

// One Watch stream. The service pushes statuses (under its own lock); the reactor sends them one
// write at a time and finishes once asked to and nothing is left to send. Lock order: the
// service's mu_, then this mu_. Only the service calls Push/EndStream.
class HealthService::Watcher final : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  Watcher(HealthService* owner, std::string name) : owner_(owner), name_(std::move(name)) {}

  const std::string& name() const { return name_; }

  // Queues `status` unless it equals the last status queued.
  void Push(ServingStatus status) {
    std::lock_guard lock(mu_);
    if (cancelled_ || end_ || last_queued_ == status) return;
    last_queued_ = status;
    if (pending_.size() >= kMaxPendingWrites) pending_.clear();
    pending_.push_back(status);
    PumpLocked();
  }

  // Ends the stream with `status` once everything queued so far has been written.
  void EndStream(grpc::Status status) {
    std::lock_guard lock(mu_);
    if (!end_) end_ = std::move(status);
    PumpLocked();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok) {  // the stream is broken (cancelled or the connection went away)
      cancelled_ = true;
      pending_.clear();
      if (!end_) end_ = grpc::Status(grpc::StatusCode::CANCELLED, "write failed");
    }
    PumpLocked();
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    pending_.clear();
    if (!end_) end_ = grpc::Status::CANCELLED;
    PumpLocked();  // finishes now, or in OnWriteDone if a write is in flight
  }

  void OnDone() override {
    owner_->ForgetWatcher(this);
    delete this;
  }

 private:
  void PumpLocked() {
    if (writing_ || finished_) return;
    if (!pending_.empty()) {
      out_.set_status(pending_.front());
      pending_.pop_front();
      writing_ = true;
      StartWrite(&out_);
      return;
    }
    if (end_) {
      finished_ = true;
      Finish(*end_);
    }
  }

  HealthService* const owner_;
  const std::string name_;

  std::mutex mu_;
  std::deque<ServingStatus> pending_;
  std::optional<ServingStatus> last_queued_;
  std::optional<grpc::Status> end_;
  HealthCheckResponse out_;  // the message being written; untouched until OnWriteDone
  bool writing_ = false;
  bool cancelled_ = false;
  bool finished_ = false;
};

HealthService::HealthService(Options options) : watch_enabled_(options.watch_enabled) {
  const ServingStatus initial = FromBool(options.serving);
  statuses_.emplace("", initial);
  for (const auto& name : options.names) statuses_.emplace(name, initial);
}

grpc::ServerUnaryReactor* HealthService::Check(grpc::CallbackServerContext* context,
                                               const HealthCheckRequest* request,
                                               HealthCheckResponse* response) {
  std::optional<ServingStatus> status;
  {
    std::lock_guard lock(mu_);
    if (hang_) {
      auto* held = new HeldCheck(this, request->service(), response);
      held_.insert(held);
      // Tests wait for this line to know that a probe call is in flight and unanswered.
      spdlog::info("health: holding Check({}) while hung", Printable(request->service()));
      return held;
    }
    if (auto it = statuses_.find(request->service()); it != statuses_.end()) status = it->second;
  }
  auto* reactor = context->DefaultReactor();
  if (status) {
    response->set_status(*status);
    reactor->Finish(grpc::Status::OK);
  } else {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service"));
  }
  return reactor;
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* /*context*/, const HealthCheckRequest* request) {
  if (!watch_enabled_) {
    return new FinishedWatch(
        grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "Watch is disabled (--no-watch)"));
  }
  auto* watcher = new Watcher(this, request->service());
  std::lock_guard lock(mu_);
  watchers_.insert(watcher);
  // A stream opened in hang mode stays silent until hang mode ends (SetHang catches it up).
  if (!hang_) watcher->Push(WatchStatusLocked(watcher->name()));
  if (shutting_down_) {
    watcher->EndStream(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
  }
  return watcher;
}

void HealthService::SetStatus(const std::string& name, bool serving) {
  std::lock_guard lock(mu_);
  SetStatusLocked(name, FromBool(serving));
}

void HealthService::SetAll(bool serving) {
  std::lock_guard lock(mu_);
  for (auto& [name, status] : statuses_) SetStatusLocked(name, FromBool(serving));
}

void HealthService::SetHang(bool hang) {
  Releases releases;
  {
    std::lock_guard lock(mu_);
    if (hang == hang_) return;
    if (hang && shutting_down_) return;  // shutdown lifted hang mode for good
    hang_ = hang;
    spdlog::info("health: hang mode {}", hang ? "on" : "off");
    if (!hang) releases = ReleaseAllLocked();
  }
  Answer(releases);
}

void HealthService::BeginShutdown() {
  Releases releases;
  {
    std::lock_guard lock(mu_);
    if (shutting_down_) return;
    shutting_down_ = true;
    hang_ = false;
    releases = ReleaseAllLocked();
    for (auto* watcher : watchers_) {
      watcher->EndStream(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
    }
  }
  Answer(releases);
}

std::optional<ServingStatus> HealthService::Get(const std::string& name) const {
  std::lock_guard lock(mu_);
  if (auto it = statuses_.find(name); it != statuses_.end()) return it->second;
  return std::nullopt;
}

bool HealthService::TakeHeld(HeldCheck* check) {
  std::lock_guard lock(mu_);
  return held_.erase(check) > 0;
}

void HealthService::ForgetWatcher(Watcher* watcher) {
  std::lock_guard lock(mu_);
  watchers_.erase(watcher);
}

ServingStatus HealthService::WatchStatusLocked(const std::string& name) const {
  auto it = statuses_.find(name);
  return it == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN : it->second;
}

void HealthService::SetStatusLocked(const std::string& name, ServingStatus status) {
  auto [it, inserted] = statuses_.try_emplace(name, status);
  if (inserted) {
    spdlog::info("health: {} registered as {}", Printable(name), StatusName(status));
  } else if (it->second != status) {
    spdlog::info("health: {} {} -> {}", Printable(name), StatusName(it->second),
                 StatusName(status));
    it->second = status;
  } else {
    return;
  }
  if (hang_) return;  // watchers catch up when hang mode ends
  for (auto* watcher : watchers_) {
    if (watcher->name() == name) watcher->Push(status);
  }
}

HealthService::Releases HealthService::ReleaseAllLocked() {
  Releases releases;
  releases.reserve(held_.size());
  for (auto* check : held_) {
    auto it = statuses_.find(check->name());
    releases.emplace_back(
        check, it == statuses_.end() ? std::nullopt : std::optional<ServingStatus>(it->second));
  }
  held_.clear();
  // Watch streams catch up: those opened in hang mode get their first message, the others get
  // the current status if it changed meanwhile.
  for (auto* watcher : watchers_) watcher->Push(WatchStatusLocked(watcher->name()));
  return releases;
}

void HealthService::Answer(const Releases& releases) {
  for (const auto& [check, status] : releases) check->Answer(status);
}

}  // namespace hello_service
