// Fuzz target "discovery_replies": what the read side (resolve, watch) parses from a registry.
// The first byte picks the reader, the rest is the registry's answer:
//   0 eureka::parse_application (GET /apps/{APP})
//   1 nacos::parse_instance_list (GET /nacos/v1/ns/instance/list)
//   2 consul::parse_health_service (GET /v1/health/service/<name>)
//   3 zookeeper::parse_node: "<child>\0<data>", a child of /services/hello read by the curator
//     setting (then every other format)
// Invariants: the parsers never throw and give a one-line reason when they refuse; every
// instance they accept is keyed by its id, and has an address and a port in 1-65535 (Consul
// excepted: its catalog holds services without either, and they are listed as they are).
#include <string>
#include <string_view>

#include "discovery/consul_health.hpp"
#include "discovery/eureka_apps.hpp"
#include "discovery/nacos_hosts.hpp"
#include "discovery/zookeeper_nodes.hpp"
#include "fuzz_support.hpp"

namespace registrar::fuzz {
namespace {

// `dialable`: an address and a port in 1-65535. Consul's catalog holds services without a port
// (Port 0) or an address (the node's, possibly empty too), and its reader lists them as Consul's
// own clients do; the other readers refuse such an entry.
void instance_checks(const std::string& key, const discovery::Instance& i, bool dialable) {
  check(!i.id.empty() && key == i.id, "an instance not keyed by its id");
  if (!dialable) return;
  check(!i.address.empty(), "an instance without an address");
  check(i.port >= 1, "an instance with port 0");
}

void set_checks(const std::optional<discovery::InstanceSet>& set, const std::string& why,
                const char* parser, bool dialable = true) {
  if (!set) {
    check(!why.empty(), std::string(parser) + " refused without a reason");
    check(why.find('\n') == std::string::npos, std::string(parser) + ": a reason of two lines");
    return;
  }
  for (const auto& [key, i] : *set) instance_checks(key, i, dialable);
}

void node(std::string_view rest) {
  const std::size_t nul = rest.find('\0');
  const std::string child(rest.substr(0, nul));
  const std::string data = nul == std::string_view::npos ? "" : std::string(rest.substr(nul + 1));
  std::string why;
  const auto i = discovery::zookeeper::parse_node(config::ZooKeeperFormat::Curator, "/services",
                                                  "hello", child, data, why);
  if (!i) {
    check(!why.empty(), "parse_node refused without a reason");
    return;
  }
  check(i->name == "hello", "parse_node: an instance of another name");
  instance_checks(i->id, *i, true);
}

}  // namespace

int fuzz_discovery_replies(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string why;
  switch (selector(data[0], 4)) {
    case 0:
      set_checks(discovery::eureka::parse_application(rest, why), why, "parse_application");
      break;
    case 1:
      set_checks(discovery::nacos::parse_instance_list(rest, why), why, "parse_instance_list");
      break;
    case 2:
      set_checks(discovery::consul::parse_health_service(rest, why), why, "parse_health_service",
                 /*dialable=*/false);
      break;
    default:
      node(rest);
      break;
  }
  return 0;
}

}  // namespace registrar::fuzz
