// EtcdServer: a real single-member etcd on 127.0.0.1 with free client and peer ports and its own
// temp data dir. The constructor starts it and waits until it answers; the destructor kills it
// and removes the data.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/etcdctl.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace registrar::test {

// TLS on etcd's client port (https:// client URLs): its certificate and key, and with
// `trusted_ca` set, --client-cert-auth with that CA. `client` is what the server's own health
// check presents (etcdctl --cert/--key); `ca` is the CA etcdctl trusts (--cacert).
struct EtcdServerTls {
  std::filesystem::path cert;
  std::filesystem::path key;
  std::filesystem::path trusted_ca;  // "" = no client certificates asked for
  std::filesystem::path ca;          // the CA that signed `cert`
  std::filesystem::path client_cert;
  std::filesystem::path client_key;
};

// etcd authentication, made by EtcdServer::enable_auth() on a running server: the user root (role
// root) and a least-privilege `user` whose role (named like the user) grants readwrite on exactly
// the prefixes and keys below, and nothing else.
struct EtcdServerAuth {
  std::string root_password;
  std::string user;
  std::string password;
  std::vector<std::string> readwrite_prefixes;  // each granted with --prefix=true
  std::vector<std::string> readwrite_keys;      // each a single key
};

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
  // kill9() if running, empty the data dir, start() on the same ports: a brand-new cluster
  // (without the users of enable_auth()).
  void wipe_and_restart(Millis timeout = 15s);

  // Extra etcd flags (e.g. "--max-txn-ops=1") for the next start(); construct with
  // start_now = false to have them on the first start.
  void set_extra_args(std::vector<std::string> args) { extra_args_ = std::move(args); }
  // TLS for the next start(); construct with start_now = false to have it on the first start.
  void set_tls(EtcdServerTls tls) { tls_ = std::move(tls); }
  // The etcdctl flags that reach this server over TLS ({} without TLS), e.g. for Etcdctl::run;
  // without those whose variable (ETCDCTL_CACERT, _CERT, _KEY) is set, which etcdctl would refuse.
  std::vector<std::string> etcdctl_tls_flags() const;
  // Simple tokens that expire `seconds` after their last use (--auth-token=simple
  // --auth-token-ttl) from the next start(); construct with start_now = false to have them on
  // the first start.
  void set_auth_token_ttl(int seconds) { auth_token_ttl_s_ = seconds; }
  // Adds the users and roles of `auth` and enables authentication (etcd must be running).
  // From then on etcdctl needs --user (or ETCDCTL_USER=root:PASSWORD); start()'s health check
  // passes root's. Throws on a failed step, naming the step but never a password.
  void enable_auth(const EtcdServerAuth& auth);

  bool running() const;
  std::string endpoint() const;  // "127.0.0.1:PORT"
  std::string client_url() const { return (tls_ ? "https://" : "http://") + endpoint(); }
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
  std::optional<EtcdServerTls> tls_;
  int auth_token_ttl_s_ = 0;   // 0 = etcd's default tokens
  std::string root_password_;  // set by enable_auth()
  std::unique_ptr<Process> process_;
};

std::string etcd_bin();  // $REGISTRAR_TEST_ETCD_BIN, else the one found at configure time

}  // namespace registrar::test
