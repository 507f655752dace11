#include "probe/shared_liveness.hpp"

#include <grpcpp/grpcpp.h>

#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <utility>
#include <vector>

#include "probe/tsan_handoff.hpp"
#include "runtime/grpc_deadline.hpp"

namespace registrar::probe {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Check. Owns itself from start() until OnDone, and hands its status to the SharedLiveness.
class SharedLiveness::Call final : public grpc::ClientUnaryReactor,
                                   public std::enable_shared_from_this<Call> {
 public:
  Call(std::shared_ptr<SharedLiveness> owner, Clock::time_point started,
       boost::asio::any_io_executor release)
      : owner_(std::move(owner)), started_(started), release_(std::move(release)) {}

  void start(grpc::health::v1::Health::Stub& stub, const std::string& service,
             std::chrono::milliseconds timeout) {
    self_ = shared_from_this();
    request_.set_service(service);
    context_.set_deadline(runtime::grpc_deadline_after(timeout));  // monotonic
    stub.async()->Check(&context_, &request_, &response_, this);
    handoff_release(this);  // probe/tsan_handoff.hpp
    StartCall();
  }
  void cancel() { context_.TryCancel(); }

  void OnDone(const grpc::Status& status) override {
    handoff_acquire(this);
    owner_->finish(this, status, started_);
    // The last references go to `release_` (see ask()); `this` may be destroyed there at any
    // moment after post(), so touch no member afterwards.
    const boost::asio::any_io_executor release = release_;
    boost::asio::post(release, [owner = std::move(owner_), self = std::move(self_)] {});
  }

 private:
  grpc::ClientContext context_;
  HealthCheckRequest request_;
  HealthCheckResponse response_;
  std::shared_ptr<SharedLiveness> owner_;
  Clock::time_point started_;
  boost::asio::any_io_executor release_;
  std::shared_ptr<Call> self_;
};

std::shared_ptr<SharedLiveness> SharedLiveness::for_channel(
    const std::shared_ptr<grpc::Channel>& channel) {
  static std::mutex mu;
  static std::map<const grpc::Channel*, std::weak_ptr<SharedLiveness>> all;
  std::lock_guard lock(mu);
  for (auto it = all.begin(); it != all.end();) it = it->second.expired() ? all.erase(it) : ++it;
  // An instance holds its channel, so a live entry's address cannot have been reused.
  auto& slot = all[channel.get()];
  auto shared = slot.lock();
  if (!shared) {
    shared = std::make_shared<SharedLiveness>(channel);
    slot = shared;
  }
  return shared;
}

SharedLiveness::SharedLiveness(std::shared_ptr<grpc::Channel> channel)
    : channel_(std::move(channel)), stub_(grpc::health::v1::Health::NewStub(channel_)) {}

std::uint64_t SharedLiveness::ask(const std::string& service, std::chrono::milliseconds timeout,
                                  const Clock& clock, Clock::time_point not_before,
                                  boost::asio::any_io_executor release, Answer answer) {
  std::unique_lock lock(mu_);
  if (!in_flight_ && last_ && last_started_ > not_before) {
    const grpc::Status status = *last_;
    const Clock::time_point started = last_started_;
    lock.unlock();
    answer(status, started);
    return 0;
  }
  const std::uint64_t ticket = next_ticket_++;
  waiters_.emplace(ticket, std::move(answer));
  // A Check in flight answers everyone waiting, whenever it started: it ends within its deadline
  // and its answer is at least as fresh as its start. One that was cancelled (nobody waited any
  // more) is replaced.
  if (in_flight_ && !in_flight_cancelled_) return ticket;
  in_flight_cancelled_ = false;
  in_flight_ = std::make_shared<Call>(
      shared_from_this(), clock.now(),
      boost::asio::prefer(std::move(release), boost::asio::execution::outstanding_work.tracked));
  auto call = in_flight_;
  lock.unlock();
  call->start(*stub_, service, timeout);
  return ticket;
}

void SharedLiveness::withdraw(std::uint64_t ticket) {
  std::shared_ptr<Call> cancel;
  {
    std::lock_guard lock(mu_);
    waiters_.erase(ticket);
    if (waiters_.empty() && in_flight_ && !in_flight_cancelled_) {
      cancel = in_flight_;
      in_flight_cancelled_ = true;
    }
  }
  if (cancel) cancel->cancel();
}

void SharedLiveness::finish(const Call* call, const grpc::Status& status,
                            Clock::time_point started) {
  std::map<std::uint64_t, Answer> waiters;
  {
    std::lock_guard lock(mu_);
    if (call != in_flight_.get()) return;  // cancelled and replaced: nobody waits for it
    in_flight_.reset();
    waiters.swap(waiters_);
    if (status.error_code() != grpc::StatusCode::CANCELLED) {
      last_ = status;
      last_started_ = started;
    }
  }
  for (auto& [ticket, answer] : waiters) answer(status, started);
}

}  // namespace registrar::probe
