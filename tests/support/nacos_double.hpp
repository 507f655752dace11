// NacosDouble: the Nacos naming server double (tests/nacos_double, a Go program) on 127.0.0.1,
// port chosen by the kernel and parsed from its "listening on 127.0.0.1:PORT" line. The
// constructor starts it; the destructor kills it. Fault controls and counters are the double's
// test-only /_double/ endpoints (tests/nacos_double/README.md); instance lists go through the
// real v1 Open API (logging in first when auth is on), as a Nacos client reads them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace registrar::test {

struct NacosDoubleOptions {
  double time_scale = 1.0;  // scales the 5 s beat interval, 15 s / 30 s timeouts, 5 s check period
  std::string user{};       // auth on when set (its password in a temp file)
  std::string password{};
  int token_ttl_s = 18000;
};

class NacosDouble {
 public:
  explicit NacosDouble(NacosDoubleOptions options = {});
  ~NacosDouble();
  NacosDouble(const NacosDouble&) = delete;
  NacosDouble& operator=(const NacosDouble&) = delete;

  // Spawns the double (if not running) on the same port as before (a restarted server).
  void start(Millis timeout = 10s);
  void kill();
  bool running() const;

  std::uint16_t port() const { return port_; }
  std::string host_port() const { return "127.0.0.1:" + std::to_string(port_); }

  // --- test-only controls; each throws unless 200 ---
  void restart_wiping_state();
  void fail_next(int n, int status = 500);
  void delay(int ms, int count = -1);
  void expire_tokens();
  nlohmann::json stats();      // {"requests","beats","registers","deregisters","logins","writes"}
  nlohmann::json instances();  // namespace -> every instance, healthy or not
  // Every API request after `since`: [{seq, method, path, params}] (no token, no password).
  nlohmann::json requests(std::uint64_t since = 0);

  // GET /nacos/v1/ns/instance/list: the "hosts" array, as a client sees it.
  nlohmann::json hosts(const std::string& service, bool healthy_only,
                       const std::string& namespace_id = "public",
                       const std::string& group = "DEFAULT_GROUP");

  HttpClient& http() { return *http_; }

 private:
  nlohmann::json control(const std::string& method, const std::string& target);
  std::string token();

  NacosDoubleOptions options_;
  TempDir dir_;
  std::filesystem::path password_file_;
  std::uint16_t port_ = 0;
  int generation_ = 0;
  std::unique_ptr<Process> process_;
  std::unique_ptr<HttpClient> http_;
};

}  // namespace registrar::test
