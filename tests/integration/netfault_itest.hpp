// Helpers for the network-fault tests (issue 17): the registry, the daemon and the probed
// service each in a network namespace of a support/netns.hpp NetLab, a recorder that reads the
// registry from inside its own namespace (which no fault touches) over time, and the log lines a
// fault must leave.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "itest.hpp"
#include "support/netns.hpp"
#include "support/temp_dir.hpp"

namespace registrar::itest {

using SteadyTime = std::chrono::steady_clock::time_point;

inline SteadyTime steady_now() {
  return std::chrono::steady_clock::now();
}
inline Millis since(SteadyTime t0) {
  return std::chrono::duration_cast<Millis>(steady_now() - t0);
}

// Slack added to every bound for a loaded 2-core machine (five builds and test runs share it) and
// for the 100 ms pace of the readers.
inline constexpr Millis kSlack = 2500ms;

// Whether this machine can run the netfault tests: namespaces (root, ip, nft), the daemon and
// hello-service, etcd. Otherwise FAIL under CI=true, else WARN and false (support/require.hpp).
bool have_netfault_prerequisites();

// The hello-service in node `node` of `lab`, listening on the node's address, port 50051.
class NetService {
 public:
  NetService(test::NetLab& lab, std::string node);
  std::string address() const { return address_; }
  std::uint16_t port() const { return 50051; }
  test::Process& process() { return *process_; }

 private:
  std::string address_;
  std::unique_ptr<test::Process> process_;
};

// etcd members, one per lab node, each listening on its node's address (port 2379, peers 2380)
// and on 127.0.0.1:2379 inside its namespace, for the readers.
class NetEtcd {
 public:
  // One cluster of the given nodes (already added to the lab), started and healthy.
  NetEtcd(test::NetLab& lab, std::vector<std::string> nodes);
  ~NetEtcd();
  std::string endpoint(std::size_t i) const;  // "10.213.x.2:2379"
  std::vector<std::string> endpoints() const;
  const std::string& node(std::size_t i) const { return nodes_[i]; }
  void kill9(std::size_t i);
  // Starts member i again on its data (after a kill9, and a NetLab::rebuild of its node).
  void start(std::size_t i);
  // Waits until member i answers `endpoint health` inside its namespace.
  bool wait_healthy(std::size_t i, Millis timeout);
  // Everything under `prefix`, read through member i inside its namespace; nullopt while it
  // does not answer.
  std::optional<std::vector<test::KeyValue>> get_prefix(std::size_t i, const std::string& prefix);
  // The leases member i knows; nullopt while it does not answer.
  std::optional<std::vector<std::int64_t>> leases(std::size_t i);

 private:
  std::vector<std::string> args(std::size_t i) const;

  test::NetLab& lab_;
  std::vector<std::string> nodes_;
  test::TempDir dir_;
  std::vector<std::unique_ptr<test::Process>> members_;
};

// The Consul agent double in node `node`, listening on the node's address, port 8500.
class NetConsul {
 public:
  NetConsul(test::NetLab& lab, std::string node);
  std::string address() const { return "http://" + address_ + ":8500"; }
  void kill9() { process_->kill9(); }
  void start();
  // GET `target` from inside the node; nullopt when the double does not answer 200.
  std::optional<nlohmann::json> get(const std::string& target);

 private:
  test::NetLab& lab_;
  std::string node_;
  std::string address_;
  int generation_ = 0;
  std::unique_ptr<test::Process> process_;
};

// One read of the registry: entry -> what identifies its state (etcd: the key's lease, in hex;
// Consul: the check's status).
struct Sample {
  SteadyTime at;
  bool ok = false;  // the registry answered
  std::map<std::string, std::string> entries;
};

// Reads the registry through `read` every `period` on a thread of its own until stopped; `read`
// returns nullopt when the registry does not answer. Bounded: stops by itself after 10 minutes.
class Recorder {
 public:
  using Read = std::function<std::optional<std::map<std::string, std::string>>()>;
  Recorder(Read read, Millis period = 100ms);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  void stop();
  std::vector<Sample> samples() const;
  // Every answered read within [from, to] has `entry` (with `state`, when given).
  bool always(const std::string& entry, SteadyTime from, SteadyTime to,
              const std::string& state = {}) const;
  // The first answered read at or after `from` where `entry` is missing (or, with `state`, not
  // in that state); nullopt if none.
  std::optional<SteadyTime> first_without(const std::string& entry, SteadyTime from,
                                          const std::string& state = {}) const;
  // The distinct states `entry` had in answered reads within [from, to].
  std::vector<std::string> states(const std::string& entry, SteadyTime from, SteadyTime to) const;
  std::size_t answered() const;

 private:
  Read read_;
  Millis period_;
  mutable std::mutex mu_;
  std::vector<Sample> samples_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Lines of the daemon's log at or after byte `from` that match `re`.
std::size_t count_log(const test::Daemon& daemon, const std::regex& re, std::size_t from);

// Waits for a line matching `re` at or after `from`; the time from `t0` to the line's own
// timestamp (millisecond precision; negative for a line written before `t0`), or nullopt.
std::optional<Millis> wait_log(test::Daemon& daemon, const std::regex& re, std::size_t from,
                               SteadyTime t0, Millis timeout);

// The daemon in node `node`, with `yaml` as its manifest.
std::unique_ptr<test::Daemon> start_daemon(test::NetLab& lab, const std::string& node,
                                           const std::string& yaml);

}  // namespace registrar::itest
