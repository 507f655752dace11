// Interop: Nacos's own Node.js naming client (npm `nacos`, nacos-naming; installed by
// scripts/bootstrap into tests/interop/nacos-js) reads what the daemon registered, through the
// Nacos double: selectInstances(service, group, '', healthy=true) sees exactly the healthy
// services, with their ip, port and gRPC_port, before and after a flip, a server restart without
// its data, and a drain.
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "nacos_itest.hpp"
#include "support/require.hpp"

using namespace registrar::itest;
using nlohmann::json;
using registrar::test::NacosDouble;
using Clock = std::chrono::steady_clock;

namespace {

const std::filesystem::path kClientDir = REGISTRAR_NACOS_JS_DIR;

bool have_node_client() {
  return registrar::test::need(
      std::filesystem::exists("/usr/bin/node") &&
          std::filesystem::exists(kClientDir / "node_modules" / "nacos-naming"),
      "node or tests/interop/nacos-js/node_modules missing (run scripts/bootstrap)");
}

// What the Node.js client sees: [{ip, port, gRPC_port}], sorted by port; nullopt on failure.
std::optional<json> select_instances(NacosDouble& nacos) {
  const auto r = registrar::test::run_command(
      "/usr/bin/node", {(kClientDir / "select_instances.js").string(), nacos.host_port(), "hello"},
      20s);
  if (!r.status.exited_with(0)) return std::nullopt;
  return json::parse(r.out);
}

json expect(std::vector<int> ports) {
  std::sort(ports.begin(), ports.end());
  json out = json::array();
  for (int p : ports)
    out.push_back({{"ip", "127.0.0.1"}, {"port", p}, {"gRPC_port", std::to_string(p)}});
  return out;
}

bool client_sees(NacosDouble& nacos, const json& want) {
  return registrar::test::wait_until(
      [&] {
        auto seen = select_instances(nacos);
        return seen && *seen == want;
      },
      10s, 200ms);
}

}  // namespace

TEST_CASE("nacos interop: the Node.js client sees exactly the healthy instances", "[nacos]") {
  if (!have_nacos_double() || !have_node_client()) return;
  NacosDouble nacos({.time_scale = 0.1});
  HelloService a, b;
  NacosParams p;
  p.servers = {nacos.host_port()};
  p.services = {entry_for(a, "hello-a"), entry_for(b, "hello-b")};
  Daemon daemon(nacos_manifest_yaml(p));
  DumpOnFailure dump(daemon.process());
  CHECK(client_sees(nacos, expect({a.port(), b.port()})));

  b.set_serving(false);  // a flip
  CHECK(client_sees(nacos, expect({a.port()})));
  b.set_serving(true);
  CHECK(client_sees(nacos, expect({a.port(), b.port()})));

  nacos.restart_wiping_state();  // a server restart without its data
  CHECK(client_sees(nacos, expect({a.port(), b.port()})));

  daemon.signal(SIGUSR1);  // a drain
  CHECK(client_sees(nacos, expect({})));
}
