// A real, controllable grpc.health.v1 server on 127.0.0.1 for prober tests.
//
// The status of each service name is set from the test; Watch streams push every change. Options:
// answer Watch with UNIMPLEMENTED, a "slow" Check that does not answer before the caller's
// deadline has passed, and a "silent" Watch that never sends its first message. Open Watch streams
// can be ended while the server keeps serving (as a server rotating its connections would), or
// every stream can end right after its first message; the server can also be given a maximum
// connection age. The server can be shut down and started again on the same port, and can serve
// TLS or mTLS (Options::credentials).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"

namespace registrar::test {

class HealthServerFixture {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  struct Options {
    // GRPC_ARG_MAX_CONNECTION_AGE_MS / _GRACE_MS: after `max_connection_age` the server sends
    // GOAWAY, and after the grace period it closes the connection and the calls still on it.
    // Zero = gRPC's default (no limit).
    std::chrono::milliseconds max_connection_age{0};
    std::chrono::milliseconds max_connection_age_grace{0};
    // E.g. grpc::SslServerCredentials(...); nullptr = plaintext.
    std::shared_ptr<grpc::ServerCredentials> credentials;
  };

  // Starts on 127.0.0.1:<port>; port 0 picks a free one.
  explicit HealthServerFixture(int port = 0) : HealthServerFixture(Options{}, port) {}
  explicit HealthServerFixture(Options options, int port = 0)
      : options_(options), state_(std::make_shared<State>()) {
    start(port);
  }
  ~HealthServerFixture() { shutdown(); }
  HealthServerFixture(const HealthServerFixture&) = delete;
  HealthServerFixture& operator=(const HealthServerFixture&) = delete;

  // (Re)starts the server. Port 0 reuses the previous port if there was one.
  void start(int port = 0) {
    if (server_) throw std::logic_error("health server already running");
    if (port == 0) port = port_;
    {
      std::lock_guard lock(state_->mu);
      state_->shutting_down = false;
    }
    service_ = std::make_unique<Service>(state_);
    grpc::ServerBuilder builder;
    int bound = 0;
    builder.AddListeningPort(
        "127.0.0.1:" + std::to_string(port),
        options_.credentials ? options_.credentials : grpc::InsecureServerCredentials(), &bound);
    builder.RegisterService(service_.get());
    if (options_.max_connection_age.count() > 0) {
      builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                                 static_cast<int>(options_.max_connection_age.count()));
      builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                                 static_cast<int>(options_.max_connection_age_grace.count()));
    }
    server_ = builder.BuildAndStart();
    if (!server_ || bound == 0) throw std::runtime_error("cannot start health server");
    port_ = bound;
  }

  // Ends every Watch stream (cleanly, as a server going away would) and stops listening.
  void shutdown() {
    if (!server_) return;
    {
      std::lock_guard lock(state_->mu);
      state_->shutting_down = true;
    }
    state_->cv.notify_all();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_->Wait();
    server_.reset();
    service_.reset();
  }

  int port() const { return port_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

  void set_status(const std::string& service, ServingStatus status) {
    {
      std::lock_guard lock(state_->mu);
      state_->statuses[service] = status;
    }
    state_->cv.notify_all();
  }
  void set_watch_unimplemented(bool on) {
    std::lock_guard lock(state_->mu);
    state_->watch_unimplemented = on;
  }
  void set_slow_check(bool on) {
    std::lock_guard lock(state_->mu);
    state_->slow_check = on;
  }
  // New Watch streams stay open but send nothing until the option is turned off again.
  void set_silent_watch(bool on) {
    {
      std::lock_guard lock(state_->mu);
      state_->silent_watch = on;
    }
    state_->cv.notify_all();
  }

  // Ends every Watch stream open now with `code` (OK: a clean end), while the server keeps
  // serving and streams opened afterwards are not affected.
  void end_watch_streams(grpc::StatusCode code) {
    {
      std::lock_guard lock(state_->mu);
      ++state_->end_generation;
      state_->end_code = code;
    }
    state_->cv.notify_all();
  }
  // New Watch streams end cleanly right after their first message.
  void set_watch_ends_after_first(bool on) {
    std::lock_guard lock(state_->mu);
    state_->watch_ends_after_first = on;
  }

  int check_calls() const {
    std::lock_guard lock(state_->mu);
    return state_->check_calls;
  }
  int watch_calls() const {
    std::lock_guard lock(state_->mu);
    return state_->watch_calls;
  }
  // Check calls that have arrived but not answered yet (for the "mid-call" tests).
  int checks_in_progress() const {
    std::lock_guard lock(state_->mu);
    return state_->checks_in_progress;
  }

 private:
  // How often a blocked handler looks at its ServerContext for cancellation; only a poll
  // period, never a synchronisation delay.
  static constexpr std::chrono::milliseconds kPoll{10};
  // Upper bound on every blocking handler, so that no loop runs forever.
  static constexpr std::chrono::seconds kHandlerLimit{60};

  struct State {
    mutable std::mutex mu;
    std::condition_variable cv;
    std::map<std::string, ServingStatus> statuses;
    bool watch_unimplemented = false;
    bool slow_check = false;
    bool silent_watch = false;
    bool watch_ends_after_first = false;
    bool shutting_down = false;
    std::uint64_t end_generation = 0;
    grpc::StatusCode end_code = grpc::StatusCode::OK;
    int check_calls = 0;
    int watch_calls = 0;
    int checks_in_progress = 0;

    std::optional<ServingStatus> lookup(const std::string& name) const {
      auto it = statuses.find(name);
      if (it == statuses.end()) return std::nullopt;
      return it->second;
    }
  };

  class Service final : public grpc::health::v1::Health::Service {
   public:
    explicit Service(std::shared_ptr<State> state) : state_(std::move(state)) {}

    grpc::Status Check(grpc::ServerContext* ctx, const grpc::health::v1::HealthCheckRequest* req,
                       grpc::health::v1::HealthCheckResponse* resp) override {
      std::unique_lock lock(state_->mu);
      ++state_->check_calls;
      if (state_->slow_check) {
        // Answer only once the caller has given up (its deadline cancels us) or we shut down.
        ++state_->checks_in_progress;
        const auto limit = std::chrono::steady_clock::now() + kHandlerLimit;
        while (!ctx->IsCancelled() && !state_->shutting_down &&
               std::chrono::steady_clock::now() < limit) {
          state_->cv.wait_for(lock, kPoll);
        }
        --state_->checks_in_progress;
      }
      const auto status = state_->lookup(req->service());
      if (!status) return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service");
      resp->set_status(*status);
      return grpc::Status::OK;
    }

    grpc::Status Watch(grpc::ServerContext* ctx, const grpc::health::v1::HealthCheckRequest* req,
                       grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer) override {
      std::unique_lock lock(state_->mu);
      ++state_->watch_calls;
      if (state_->watch_unimplemented) {
        return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "Watch not implemented");
      }
      const std::uint64_t generation = state_->end_generation;
      std::optional<ServingStatus> sent;
      const auto limit = std::chrono::steady_clock::now() + kHandlerLimit;
      while (std::chrono::steady_clock::now() < limit) {
        if (state_->shutting_down) return grpc::Status::OK;  // clean end of the stream
        if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
        if (state_->end_generation != generation) {
          if (state_->end_code == grpc::StatusCode::OK) return grpc::Status::OK;
          return grpc::Status(state_->end_code, "stream ended by the test server");
        }
        if (!sent && state_->silent_watch) {
          state_->cv.wait_for(lock, kPoll);
          continue;
        }
        const ServingStatus now =
            state_->lookup(req->service())
                .value_or(grpc::health::v1::HealthCheckResponse::SERVICE_UNKNOWN);
        if (!sent || *sent != now) {
          sent = now;
          grpc::health::v1::HealthCheckResponse resp;
          resp.set_status(now);
          lock.unlock();
          const bool ok = writer->Write(resp);
          lock.lock();
          if (!ok) return grpc::Status(grpc::StatusCode::CANCELLED, "stream broken");
          if (state_->watch_ends_after_first) return grpc::Status::OK;
          continue;
        }
        state_->cv.wait_for(lock, kPoll);
      }
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "fixture handler limit");
    }

   private:
    std::shared_ptr<State> state_;
  };

  Options options_;
  std::shared_ptr<State> state_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace registrar::test
