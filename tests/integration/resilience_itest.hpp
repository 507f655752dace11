// Helpers for the resilience tests (issue 4): manifests with thresholds and an owner, a
// recorder that watches the registry over time, and a three-member etcd cluster.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "itest.hpp"
#include "support/ports.hpp"

namespace registrar::itest {

using SteadyTime = std::chrono::steady_clock::time_point;

inline long ms_since(SteadyTime t0) {
  return static_cast<long>(
      std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0).count());
}

// What manifest_yaml() cannot say: thresholds (for all, or per service id), the owner, the
// shutdown timeout.
struct ManifestExtras {
  int rise = 1;
  int fall = 1;
  std::map<std::string, std::pair<int, int>> thresholds;  // id -> {rise, fall}
  std::string owner;                                      // registry.etcd.owner, if set
  std::string shutdown_timeout;                           // if set
};
std::string manifest_yaml(const ManifestParams& p, const ManifestExtras& x);

// Replaces the file at `path` atomically (write then rename), as an editor or a config
// management tool would.
void replace_file(const std::filesystem::path& path, const std::string& text);

// Lines of `text` matching `re`.
std::size_t count_lines(const std::string& text, const std::regex& re);

// One read of the registry by the recorder.
struct Snapshot {
  SteadyTime at;
  bool ok = false;            // etcd answered
  std::int64_t revision = 0;  // the store's revision at that read
  std::map<std::string, KeyValue> kvs;
};

// Reads everything under `prefix` every `period` on a thread of its own (through etcdctl, the
// reference client) until stopped, and keeps every read.
class RegistryRecorder {
 public:
  RegistryRecorder(std::string endpoints, std::string prefix, Millis period = 50ms);
  ~RegistryRecorder();
  RegistryRecorder(const RegistryRecorder&) = delete;
  RegistryRecorder& operator=(const RegistryRecorder&) = delete;

  void stop();
  std::vector<Snapshot> snapshots() const;
  std::size_t count() const;

  // The longest time `key` was seen absent while etcd answered, from the first read that missed
  // it (after etcd answered again, if it had not) to the next read that had it; at the end of
  // the record, a gap still open counts up to the last read. Reads between `from` and `to`.
  static Millis max_gap(const std::vector<Snapshot>& s, const std::string& key,
                        SteadyTime from = {}, SteadyTime to = SteadyTime::max());
  // Whether every read that etcd answered had `key`.
  static bool always_present(const std::vector<Snapshot>& s, const std::string& key,
                             SteadyTime from = {}, SteadyTime to = SteadyTime::max());
  // Writes seen through the store's revision (one per put, delete or Txn that wrote), across
  // restarts; a wiped store starts again at revision 1.
  static std::int64_t writes(const std::vector<Snapshot>& s);

 private:
  void loop();

  Etcdctl ctl_;
  std::string prefix_;
  Millis period_;
  mutable std::mutex mu_;
  std::vector<Snapshot> snapshots_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The store's revision, or nullopt while etcd does not answer.
std::optional<std::int64_t> try_revision(const Etcdctl& ctl);

// Waits until the store's revision has not moved for `quiet` (nothing is being written), up to
// `timeout`. Returns that revision, or nullopt.
std::optional<std::int64_t> wait_for_quiet(const Etcdctl& ctl, Millis quiet, Millis timeout = 15s);

// Three etcd members on 127.0.0.1, one cluster.
class EtcdCluster {
 public:
  static constexpr int kMembers = 3;
  EtcdCluster();
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  std::string endpoint(int i) const { return "127.0.0.1:" + std::to_string(client_ports_[i]); }
  std::vector<std::string> endpoints() const;
  // An etcdctl that talks to every member but `except`.
  Etcdctl ctl(int except = -1) const;
  void kill9(int i);
  // The member whose endpoint is `endpoint`, or -1.
  int member_of(const std::string& endpoint) const;

 private:
  TempDir dir_;
  std::vector<std::uint16_t> client_ports_;
  std::vector<std::uint16_t> peer_ports_;
  std::vector<std::unique_ptr<Process>> members_;
};

}  // namespace registrar::itest
