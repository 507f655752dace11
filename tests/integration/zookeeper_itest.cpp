#include "zookeeper_itest.hpp"

#include <sstream>

#include "support/require.hpp"

namespace registrar::itest {

bool have_zookeeper() {
  return have_binaries() &&
         need(zookeeper_classpath().has_value(),
              "ZooKeeper not found at " + zookeeper_jar() +
                  " (apt-get install zookeeper, or $REGISTRAR_TEST_ZOOKEEPER_JAR)");
}

std::string zookeeper_manifest_yaml(const ZkParams& p) {
  std::ostringstream y;
  y << "registry:\n"
    << "  kind: zookeeper\n"
    << "  zookeeper:\n"
    << "    servers: \"" << p.servers << "\"\n"
    << "    base_path: \"" << p.base_path << "\"\n"
    << "    format: " << p.format << "\n"
    << "    session_timeout: " << p.session_timeout << "\n"
    << "    resync_interval: " << p.resync_interval << "\n"
    << "    owner: \"" << p.owner << "\"\n"
    << "  backoff: {initial: 100ms, max: 1s}\n"
    << "shutdown_timeout: " << p.shutdown_timeout << "\n"
    << "defaults:\n"
    << "  probe: {interval: 200ms, timeout: 2s}\n"
    << "services:\n";
  for (const auto& s : p.services) {
    y << "  - name: \"" << s.name << "\"\n";
    if (!s.id.empty()) y << "    id: \"" << s.id << "\"\n";
    y << "    address: \"" << s.address << "\"\n"
      << "    port: " << s.port << "\n";
    if (!s.tags.empty()) {
      y << "    tags:\n";
      for (const auto& t : s.tags) y << "      - \"" << t << "\"\n";
    }
    if (!s.meta.empty()) {
      y << "    meta:\n";
      for (const auto& [k, v] : s.meta) y << "      \"" << k << "\": \"" << v << "\"\n";
    }
  }
  return y.str();
}

std::optional<ZkNode> try_node(const std::string& servers, const std::string& path) {
  try {
    return ZkTestClient(servers, 2s).get(path);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<Millis> wait_for_node(const std::string& servers, const std::string& path, bool want,
                                    Millis timeout) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<ZkTestClient> c;
  const bool ok = wait_until(
      [&] {
        try {
          if (!c) c = std::make_unique<ZkTestClient>(servers, 1s);
          return c->get(path).has_value() == want;
        } catch (const std::exception&) {
          c.reset();
          return false;
        }
      },
      timeout, 20ms);
  if (!ok) return std::nullopt;
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start);
}

}  // namespace registrar::itest
