// Interop: npm's eureka-js-client (tests/interop/eureka-js, installed by scripts/bootstrap) reads
// what the daemon registered, through the Eureka double, as a Node.js service would: exactly the
// UP instances (its default filterUpInstances), with the right ipAddr, port and gRPC_port, before
// and after a health flip, a server restart without state, and a drain. The double's response
// cache is refreshed every 100 ms (Eureka's is 30 s) to keep the test short.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "itest.hpp"
#include "support/eureka_double.hpp"
#include "support/paths.hpp"
#include "support/require.hpp"

using namespace registrar::itest;
using nlohmann::json;
using registrar::test::EurekaDouble;
using registrar::test::EurekaDoubleOptions;
using namespace std::chrono_literals;

namespace {

const std::filesystem::path kClientDir = REGISTRAR_EUREKA_JS_DIR;

bool have_eureka_js() {
  return registrar::test::need(registrar::test::eureka_double_bin().has_value(),
                               "eureka-double not found (target eureka_double)") &&
         registrar::test::need(std::filesystem::exists("/usr/bin/node"),
                               "node not found: apt-get install nodejs (scripts/bootstrap)") &&
         registrar::test::need(
             std::filesystem::exists(kClientDir / "node_modules" / "eureka-js-client"),
             "eureka-js-client not installed: scripts/bootstrap runs npm ci in "
             "tests/interop/eureka-js") &&
         have_binaries();
}

std::string manifest(const EurekaDouble& eureka, const HelloService& a, const HelloService& b) {
  std::string yaml =
      "registry:\n  kind: eureka\n  eureka:\n    urls: [\"" + eureka.url() +
      "\"]\n    renewal_interval: 1s\n    lease_duration: 2s\n    request_timeout: 300ms\n"
      "  backoff: {initial: 50ms, max: 400ms}\n"
      "defaults:\n  probe: {mode: watch, interval: 100ms, timeout: 1s}\nservices:\n";
  int n = 0;
  for (const HelloService* h : {&a, &b}) {
    yaml += "  - {name: hello, id: hello-" + std::to_string(++n) +
            ", address: 127.0.0.1, port: " + std::to_string(h->port()) + "}\n";
  }
  return yaml + "shutdown_timeout: 5s\n";
}

// What eureka-js-client lists for app HELLO and VIP hello, or nullopt if it failed.
std::optional<json> client_view(const EurekaDouble& eureka) {
  const auto r = registrar::test::run_command(
      "/usr/bin/node",
      {(kClientDir / "read.js").string(), "127.0.0.1", std::to_string(eureka.port()),
       "/eureka/apps/", "HELLO", "hello"},
      20s);
  if (!r.status.exited_with(0)) return std::nullopt;
  return json::parse(r.out);
}

json expected(const std::vector<std::pair<std::string, const HelloService*>>& up) {
  json list = json::array();
  for (const auto& [id, h] : up)
    list.push_back({{"instanceId", id},
                    {"ipAddr", "127.0.0.1"},
                    {"port", h->port()},
                    {"status", "UP"},
                    {"gRPC_port", std::to_string(h->port())}});
  return {{"byApp", list}, {"byVip", list}};
}

// Polls the client until it sees exactly `want`; one heartbeat, the cache refresh and the
// client's own start-up (about half a second of Node.js each time) bound it.
bool client_sees(const EurekaDouble& eureka, const json& want, Millis timeout = 15s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::optional<json> last;
  while (std::chrono::steady_clock::now() < deadline) {
    last = client_view(eureka);
    if (last && *last == want) return true;
    std::this_thread::sleep_for(100ms);
  }
  UNSCOPED_INFO("eureka-js-client last saw: " << (last ? last->dump() : "nothing"));
  return false;
}

}  // namespace

TEST_CASE("eureka interop: eureka-js-client sees exactly the UP instances", "[eureka]") {
  if (!have_eureka_js()) return;
  EurekaDoubleOptions o;
  o.cache_update_interval = "100ms";
  EurekaDouble eureka(o);
  HelloService a;
  HelloService b;
  Daemon daemon(manifest(eureka, a, b));
  DumpOnFailure dump(daemon.process());

  CHECK(client_sees(eureka, expected({{"hello-1", &a}, {"hello-2", &b}})));

  b.set_serving(false);  // flip: DOWN, listed by the server, not by the client
  CHECK(client_sees(eureka, expected({{"hello-1", &a}})));

  eureka.restart_wiping_state();  // registered again within one heartbeat, hello-2 still DOWN
  CHECK(client_sees(eureka, expected({{"hello-1", &a}})));
  const auto down = eureka.instance("HELLO", "hello-2");
  REQUIRE(down);
  CHECK(down->at("status") == "DOWN");

  b.set_serving(true);
  CHECK(client_sees(eureka, expected({{"hello-1", &a}, {"hello-2", &b}})));

  daemon.signal(SIGUSR1);  // drain
  CHECK(client_sees(eureka, expected({})));
  CHECK(daemon.terminate().exited_with(0));
}
