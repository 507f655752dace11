// EtcdServer: a real single-member etcd on 127.0.0.1 with free client and peer ports and its own
// temp data dir. The constructor starts it and waits until it answers; the destructor kills it
// and removes the data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "support/etcdctl.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace registrar::test {

class EtcdServer {
 public:
  explicit EtcdServer(bool start_now = true, Millis start_timeout = 15s);
  ~EtcdServer();

  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  // Spawns etcd (if not running) and waits until `endpoint health` succeeds. Throws on timeout.
  void start(Millis timeout = 15s);
  // SIGKILL, reaped. Data stays.
  void kill9();
  // SIGTERM, waits for the exit (SIGKILL after `timeout`). Returns how it ended.
  ExitStatus stop(Millis timeout = 10s);
  // stop() if running, then start() on the same data dir and ports.
  void restart(Millis timeout = 15s);
  // kill9() if running, empty the data dir, start() on the same ports: a brand-new cluster.
  void wipe_and_restart(Millis timeout = 15s);

  // Extra etcd flags (e.g. "--max-txn-ops=1") for the next start(); construct with
  // start_now = false to have them on the first start.
  void set_extra_args(std::vector<std::string> args) { extra_args_ = std::move(args); }

  bool running() const;
  std::string endpoint() const;  // "127.0.0.1:PORT"
  std::string client_url() const { return "http://" + endpoint(); }
  std::uint16_t client_port() const { return client_port_; }
  std::uint16_t peer_port() const { return peer_port_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  Etcdctl ctl() const { return Etcdctl(endpoint()); }
  // The current (or last) etcd process, for its log; nullptr before the first start.
  Process* process() const { return process_.get(); }

 private:
  TempDir dir_;
  std::filesystem::path data_dir_;
  std::uint16_t client_port_ = 0;
  std::uint16_t peer_port_ = 0;
  int generation_ = 0;
  std::vector<std::string> extra_args_;
  std::unique_ptr<Process> process_;
};

std::string etcd_bin();

}  // namespace registrar::test
