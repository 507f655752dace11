// grpc.health.v1.Health for the example service, written on the gRPC callback API so that Watch
// streams and Checks held in "hang" mode occupy no thread.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"

namespace hello_service {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using ServingStatus = HealthCheckResponse::ServingStatus;

// Printable form of a status, e.g. "NOT_SERVING".
const char* StatusName(ServingStatus status);

class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  struct Options {
    // Names known from the start; "" (the whole server) is always added.
    std::vector<std::string> names;
    // Initial status of every name.
    bool serving = true;
    // false: Watch answers UNIMPLEMENTED (clients must fall back to polling Check).
    bool watch_enabled = true;
  };

  explicit HealthService(Options options);
  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;

  // Health.Check: OK with SERVING / NOT_SERVING for a known name, NOT_FOUND otherwise. Held
  // (neither answered nor failed) while hang mode is on.
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const HealthCheckRequest* request,
                                  HealthCheckResponse* response) override;

  // Health.Watch: the current status at once (SERVICE_UNKNOWN for an unknown name), then one
  // message per change. Ends on cancellation or server shutdown (UNAVAILABLE).
  grpc::ServerWriteReactor<HealthCheckResponse>* Watch(grpc::CallbackServerContext* context,
                                                       const HealthCheckRequest* request) override;

  // Sets one name; an unknown name becomes known. Logs one line if the status changed.
  void SetStatus(const std::string& name, bool serving);
  // Sets every known name.
  void SetAll(bool serving);
  // Hang mode on: Check and Watch stop answering. Off: held Checks are answered and Watch
  // streams catch up with the current status.
  void SetHang(bool hang);
  // Call before grpc::Server::Shutdown: lifts hang mode for good (held Checks are answered),
  // sends every Watch stream its pending messages and then ends it with UNAVAILABLE.
  void BeginShutdown();

  std::optional<ServingStatus> Get(const std::string& name) const;

 private:
  class HeldCheck;
  class Watcher;

  // Statuses of Checks being released, answered outside the lock.
  using Releases = std::vector<std::pair<HeldCheck*, std::optional<ServingStatus>>>;

  // Called by the reactors.
  bool TakeHeld(HeldCheck* check);  // true: the caller now owns finishing `check`
  void ForgetWatcher(Watcher* watcher);

  // The rest expect mu_ to be held.
  ServingStatus WatchStatusLocked(const std::string& name) const;
  void SetStatusLocked(const std::string& name, ServingStatus status);
  // Hang mode is over: takes every held Check with its answer and catches Watch streams up.
  Releases ReleaseAllLocked();
  static void Answer(const Releases& releases);

  const bool watch_enabled_;

  mutable std::mutex mu_;
  std::map<std::string, ServingStatus> statuses_;
  bool hang_ = false;
  bool shutting_down_ = false;
  std::set<HeldCheck*> held_;
  std::set<Watcher*> watchers_;
};

}  // namespace hello_service
