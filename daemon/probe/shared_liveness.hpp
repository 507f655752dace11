// One liveness Check per shared channel and liveness interval, its answer fanned out to every
// Watch prober on that channel. In Watch mode a prober proves, once its stream has been silent for
// its liveness interval, that the server still answers (a hung or frozen server keeps its streams
// open and silent); at 100 probers a channel, one Check per prober and interval was most of the
// daemon's CPU. A prober that asks gets the answer of a Check that started within its own
// liveness interval, already answered or still in flight, or starts one. Thread-safe: probers on
// different executors may share a channel.
#pragma once

#include <grpcpp/support/status.h>

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"
#include "runtime/clock.hpp"

namespace registrar::probe {

class SharedLiveness : public std::enable_shared_from_this<SharedLiveness> {
 public:
  using Clock = runtime::Clock;
  // Called at most once, from any thread (a gRPC thread, or the caller's within ask()): it must
  // only hand the status over to its own executor. `started` is when the answering Check started
  // (on the askers' clock): an answer proves that the server was alive then, not later.
  using Answer = std::function<void(const grpc::Status&, Clock::time_point started)>;

  // The one instance for `channel` (kept while someone holds it). Every asker on one channel
  // must use the same timeout, since one Check answers them all: the channel pool keys channels
  // by target, probe timeout and TLS settings (probe_channel.cpp), which guarantees it.
  static std::shared_ptr<SharedLiveness> for_channel(const std::shared_ptr<grpc::Channel>& channel);

  explicit SharedLiveness(std::shared_ptr<grpc::Channel> channel);

  // Answers with the status of a Check (for `service`, deadline `timeout`) that started after
  // `not_before`: a finished one at once, one in flight when it ends, else a new one. Returns a
  // ticket for withdraw(), or 0 when it has answered already. A Check's start is read from
  // `clock`, the asker's: every asker on one channel must use the same clock (the daemon has
  // one), as they use the same timeout. Strictly after: a prober asks with `not_before` one
  // liveness interval back, and on a clock that stood still during the round trip (a test's) the
  // Check of its previous repeat started exactly then; it must not count again.
  //
  // A Check that this call starts drops its last references (to this object, and so perhaps to
  // the channel) on `release`, never on the gRPC thread that ran its completion: destroying the
  // last reference to a grpc::Channel there tears down the completion queue that very thread is
  // serving (a double free inside libgrpc; grpc/grpc#37858 is the same hazard). The Check tracks
  // work on `release`, so that its io_context's run() lasts until the Check has ended; that
  // io_context must outlive the Check, which holds when every asker of a channel runs on the same
  // io_context, as in the daemon (one io_context; cli/run.cpp).
  std::uint64_t ask(const std::string& service, std::chrono::milliseconds timeout,
                    const Clock& clock, Clock::time_point not_before,
                    boost::asio::any_io_executor release, Answer answer);
  // The answer is no longer wanted (it may still arrive if it was being delivered). A Check that
  // nobody waits for any more is cancelled.
  void withdraw(std::uint64_t ticket);

 private:
  class Call;
  void finish(const Call* call, const grpc::Status& status, Clock::time_point started);

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::health::v1::Health::Stub> stub_;
  std::mutex mu_;
  std::shared_ptr<Call> in_flight_;
  bool in_flight_cancelled_ = false;
  std::map<std::uint64_t, Answer> waiters_;
  std::uint64_t next_ticket_ = 1;
  std::optional<grpc::Status> last_;  // the last finished (not cancelled) Check
  Clock::time_point last_started_{};
};

}  // namespace registrar::probe
