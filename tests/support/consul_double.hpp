// ConsulDouble: the Consul agent double (tests/consul_double, a Go program) on 127.0.0.1, port
// chosen by the kernel and parsed from its "listening on 127.0.0.1:PORT" line. The constructor
// starts it; the destructor kills it. The fault controls and the request log are the double's
// test-only /_double/ endpoints (tests/consul_double/README.md); the reads (agent_services, ...)
// go through the real Consul API with the configured token, so they see everything.
// With tls_cert/tls_key the double serves HTTPS (and with tls_ca requires client certificates):
// the wrapper's own calls then go over HTTPS too, with `client_tls`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace registrar::test {

struct ConsulDoubleOptions {
  std::string token;        // the only valid ACL token (written to a temp file); empty = ACLs off
  double time_scale = 1.0;  // scales deregister-critical-after (after the 1m clamp) and the reaper
  std::string node = "node1";
  std::string datacenter = "dc1";
  // Answer unknown check updates and service deregistrations as Consul agents before 1.11 did
  // (--legacy-agent); the default is the current agent.
  bool legacy_agent = false;
  // HTTPS instead of HTTP (--tls-cert/--tls-key), as an agent's HTTPS listener; with tls_ca,
  // verify_incoming (--tls-ca): a client certificate signed by tls_ca is required.
  // (Default member initializers: designated initializers that leave these out stay warning-free.)
  std::filesystem::path tls_cert{};
  std::filesystem::path tls_key{};
  std::filesystem::path tls_ca{};
  // How the wrapper's own calls (controls, reads) connect when the double serves HTTPS: the CA
  // its certificate is checked against and, for verify_incoming, a client certificate.
  HttpTls client_tls{};

  bool https() const { return !tls_cert.empty(); }
};

class TestPki;
// `base` serving HTTPS with pki's server certificate; with verify_incoming, requiring client
// certificates signed by pki's CA. The wrapper trusts pki's CA and presents pki's client
// certificate.
ConsulDoubleOptions https_options(const TestPki& pki, bool verify_incoming,
                                  ConsulDoubleOptions base = {});

class ConsulDouble {
 public:
  explicit ConsulDouble(ConsulDoubleOptions options = {}, bool start_now = true);
  ~ConsulDouble();

  ConsulDouble(const ConsulDouble&) = delete;
  ConsulDouble& operator=(const ConsulDouble&) = delete;

  // Spawns the double (if not running) and waits for its "listening on" line. After a stop() or
  // kill() it listens on the same port again (a restarted agent, state gone). Throws on failure.
  void start(Millis timeout = 10s);
  // SIGTERM, waits for the exit (SIGKILL after `timeout`).
  ExitStatus stop(Millis timeout = 10s);
  // SIGKILL, reaped.
  void kill();
  bool running() const;

  std::uint16_t port() const { return port_; }
  std::string host_port() const { return "127.0.0.1:" + std::to_string(port_); }
  // For registry.consul.address: http:// or https:// (when the double serves HTTPS).
  std::string address() const { return (options_.https() ? "https://" : "http://") + host_port(); }
  const std::string& token() const { return options_.token; }
  const std::filesystem::path& token_file() const { return token_file_; }  // empty if no ACLs

  // --- test-only controls (/_double/...); each throws if the double does not answer 200 ---
  void restart_wiping_state();
  // A snapshot restore: the same catalog at a lower index, blocking queries answered at once.
  void restore_resetting_index();
  void fail_next(int n, int status = 500);
  void delay(int ms, int count = -1);  // count -1: every answer until delay(0)
  void close_next(int n);
  nlohmann::json requests(std::uint64_t since = 0);  // array of {seq, method, path, query, ...}
  void clear_requests();
  std::uint64_t index();  // the catalog's current index

  // --- reads through the Consul API, with the token; throw unless 200 ---
  nlohmann::json agent_services();
  nlohmann::json agent_checks();
  nlohmann::json health_service(const std::string& name, bool passing, const std::string& tag = "");

  // Raw requests to the double (no token added).
  HttpClient& http() { return *http_; }
  // X-Consul-Token for the configured token, or nothing when ACLs are off.
  HttpHeaders auth_headers() const;

  Process* process() const { return process_.get(); }

 private:
  nlohmann::json control(const std::string& method, const std::string& target);
  nlohmann::json read_json(const std::string& target);

  ConsulDoubleOptions options_;
  TempDir dir_;
  std::filesystem::path token_file_;
  std::uint16_t port_ = 0;
  int generation_ = 0;
  std::unique_ptr<Process> process_;
  std::unique_ptr<HttpClient> http_;
};

}  // namespace registrar::test

namespace registrar {
namespace testing = test;  // the same classes as registrar::testing::ConsulDouble etc.
}  // namespace registrar
