// EurekaDouble: the Eureka server double (tests/eureka_double, a Go program) on 127.0.0.1, port
// chosen by the kernel and parsed from its "listening on 127.0.0.1:PORT" line. The constructor
// starts it; the destructor kills it. The fault controls and the request log are the double's
// test-only /_double/ endpoints (tests/eureka_double/README.md); the reads go through the real
// Eureka API (GET /eureka/apps/{APP}/{ID} live, GET /eureka/apps through its response cache).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace registrar::test {

struct EurekaDoubleOptions {
  std::string cache_update_interval = "30s";  // --response-cache-update-interval
  std::string eviction_interval = "60s";      // --eviction-interval
  bool self_preservation = true;
};

class EurekaDouble {
 public:
  explicit EurekaDouble(EurekaDoubleOptions options = {}, bool start_now = true);
  ~EurekaDouble();
  EurekaDouble(const EurekaDouble&) = delete;
  EurekaDouble& operator=(const EurekaDouble&) = delete;

  // Spawns the double and waits for its "listening on" line; after stop() or kill() it listens
  // on the same port again (a server restarted, state gone).
  void start(Millis timeout = 10s);
  ExitStatus stop(Millis timeout = 10s);
  void kill();
  bool running() const;

  std::uint16_t port() const { return port_; }
  // For registry.eureka.urls.
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/eureka"; }

  // --- test-only controls (/_double/...); each throws unless the double answers 200 ---
  void restart_wiping_state();
  void fail_next(int n, int status = 500);
  void delay(int ms, int count = -1);  // count -1: every answer until delay(0)
  void evict_now();
  nlohmann::json requests(std::uint64_t since = 0);
  nlohmann::json state();

  // --- reads through the Eureka API ---
  // The instance as GET /eureka/apps/{APP}/{ID} shows it (live), or nullopt on 404.
  std::optional<nlohmann::json> instance(const std::string& app, const std::string& id);
  // GET /eureka/apps (through the response cache): {"applications": ...}.
  nlohmann::json applications();
  // DELETE /eureka/apps/{APP}/{ID}, as an operator would: true when it was there (200).
  bool cancel(const std::string& app, const std::string& id);
  // Raw POST /eureka/apps/{APP} with `body`: the status and text of the answer.
  HttpResponse post_instance(const std::string& app, const std::string& body);

 private:
  nlohmann::json control(const std::string& method, const std::string& target);

  EurekaDoubleOptions options_;
  TempDir dir_;
  std::uint16_t port_ = 0;
  int generation_ = 0;
  std::unique_ptr<Process> process_;
  std::unique_ptr<HttpClient> http_;
};

}  // namespace registrar::test
