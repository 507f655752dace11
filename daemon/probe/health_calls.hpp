// The two grpc.health.v1 calls a prober makes, as gRPC callback reactors: a Watch stream and a
// Check call. Their reactions run on gRPC's threads; they only copy what arrived and post it to
// the prober's executor, where a HealthCallSink gets it.
#pragma once

#include <grpcpp/grpcpp.h>

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"

namespace registrar::probe {

class WatchCall;
class CheckCall;

// What a call reports, always on the executor the call was given. A call identifies itself, so
// that the sink can ignore one it has abandoned (cancelled, replaced).
class HealthCallSink {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;
  virtual ~HealthCallSink() = default;
  virtual void on_watch_message(const WatchCall* call, ServingStatus status) = 0;
  virtual void on_watch_done(const WatchCall* call, const grpc::Status& status) = 0;
  virtual void on_check_done(const CheckCall* call, const grpc::Status& status,
                             ServingStatus serving) = 0;
};

// One Watch stream. It owns itself (self_) from start() until OnDone, so it outlives the prober
// if need be; its reactions carry a shared_ptr to the sink. Reactions only copy data and post to
// the executor; the last references (and so the destruction of the call) end up on the executor.
class WatchCall final : public grpc::ClientReadReactor<grpc::health::v1::HealthCheckResponse>,
                        public std::enable_shared_from_this<WatchCall> {
 public:
  // `work` tracks outstanding work: it keeps the executor's run() going until the call is gone.
  WatchCall(std::shared_ptr<HealthCallSink> sink, boost::asio::any_io_executor work)
      : sink_(std::move(sink)), work_(std::move(work)) {}

  void start(grpc::health::v1::Health::Stub& stub, const std::string& service);
  // Thread-safe; the reactor is kept alive by the caller's reference.
  void cancel() { context_.TryCancel(); }

  // grpc::ClientReadReactor
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  grpc::ClientContext context_;
  grpc::health::v1::HealthCheckRequest request_;
  grpc::health::v1::HealthCheckResponse response_;
  std::shared_ptr<HealthCallSink> sink_;
  boost::asio::any_io_executor work_;
  std::shared_ptr<WatchCall> self_;
};

// One Check call, with the same ownership as WatchCall. Its deadline is `timeout` of real time:
// gRPC deadlines are measured by gRPC, not on the prober's clock.
class CheckCall final : public grpc::ClientUnaryReactor,
                        public std::enable_shared_from_this<CheckCall> {
 public:
  CheckCall(std::shared_ptr<HealthCallSink> sink, boost::asio::any_io_executor work)
      : sink_(std::move(sink)), work_(std::move(work)) {}

  void start(grpc::health::v1::Health::Stub& stub, const std::string& service,
             std::chrono::milliseconds timeout);
  void cancel() { context_.TryCancel(); }

  // grpc::ClientUnaryReactor
  void OnDone(const grpc::Status& status) override;

 private:
  grpc::ClientContext context_;
  grpc::health::v1::HealthCheckRequest request_;
  grpc::health::v1::HealthCheckResponse response_;
  std::shared_ptr<HealthCallSink> sink_;
  boost::asio::any_io_executor work_;  // tracked, as in WatchCall
  std::shared_ptr<CheckCall> self_;
};

}  // namespace registrar::probe
