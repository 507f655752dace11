// ZooKeeperServer: a real ZooKeeper (Debian's `zookeeper` package, 3.8, a Java server) on
// 127.0.0.1 with a free client port and its own temp data dir. The constructor starts it and
// waits until it serves; the destructor kills it and removes the data. An ensemble of
// three (ZooKeeperEnsemble) shares one temp dir, each member with its own ports and data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/wait.hpp"

namespace registrar::test {

// The java launcher and the server's class path, from Debian's packages: nullopt when the
// zookeeper package (or a JRE) is missing. $REGISTRAR_TEST_ZOOKEEPER_JAR replaces
// /usr/share/java/zookeeper.jar (a path that does not exist makes a test fail under CI=true).
std::optional<std::string> zookeeper_classpath();
std::string zookeeper_jar();

// Settings of one member. tick_ms is short so that the tests can ask for short sessions:
// ZooKeeper negotiates a session timeout between 2 and 20 ticks unless min/max say otherwise.
struct ZooKeeperSettings {
  int tick_ms = 200;
  int min_session_timeout_ms = 400;
  int max_session_timeout_ms = 60000;
};

class ZooKeeperServer {
 public:
  explicit ZooKeeperServer(bool start_now = true, ZooKeeperSettings settings = {});
  ~ZooKeeperServer();

  ZooKeeperServer(const ZooKeeperServer&) = delete;
  ZooKeeperServer& operator=(const ZooKeeperServer&) = delete;

  // Spawns the server (if not running) and waits until `srvr` shows it serving requests (a
  // member of an ensemble: returns at once, ZooKeeperEnsemble waits for the quorum). Throws on
  // timeout with the server's log.
  void start(Millis timeout = 20s);
  // SIGKILL, reaped. Data stays.
  void kill9();
  // SIGTERM, waits for the exit (SIGKILL after `timeout`).
  ExitStatus stop(Millis timeout = 10s);
  void restart(Millis timeout = 20s);
  // kill9(), empty the data dir, start() on the same port: a brand-new server, no nodes left.
  void wipe_and_restart(Millis timeout = 20s);

  bool running() const;
  std::string endpoint() const;  // "127.0.0.1:PORT"
  std::uint16_t client_port() const { return client_port_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  Process* process() const { return process_.get(); }

  // A four-letter-word command's answer ("" when the server does not answer).
  std::string four_letter(const std::string& word, Millis timeout = 1s) const;
  // The last zxid the server has applied (from `srvr`): ZooKeeper's own write counter. nullopt
  // when the server does not answer.
  std::optional<std::int64_t> last_zxid() const;

 private:
  friend class ZooKeeperEnsemble;
  // A member of an ensemble: `servers` are the server.N lines, `my_id` this one's N.
  ZooKeeperServer(std::filesystem::path dir, std::uint16_t client_port, ZooKeeperSettings settings,
                  std::vector<std::string> servers, int my_id);
  void write_config() const;
  bool serving() const;

  std::optional<TempDir> own_dir_;
  std::filesystem::path dir_;
  std::filesystem::path data_dir_;
  std::uint16_t client_port_ = 0;
  ZooKeeperSettings settings_;
  std::vector<std::string> servers_;  // ensemble only
  int my_id_ = 0;
  int generation_ = 0;
  std::unique_ptr<Process> process_;
};

// Three members on loopback, each with its client, quorum and election ports.
class ZooKeeperEnsemble {
 public:
  explicit ZooKeeperEnsemble(ZooKeeperSettings settings = {}, Millis timeout = 30s);
  ZooKeeperServer& member(std::size_t i) { return *members_.at(i); }
  std::size_t size() const { return members_.size(); }
  // "127.0.0.1:A,127.0.0.1:B,127.0.0.1:C"
  std::string connect_string() const;
  std::vector<std::string> endpoints() const;

 private:
  TempDir dir_;
  std::vector<std::unique_ptr<ZooKeeperServer>> members_;
};

}  // namespace registrar::test
