// registry.nacos: keys, defaults, the password from a file or $NACOS_PASSWORD, validation with
// positions (one line naming file:line:col and the field), and the effective configuration.
#include <catch2/catch.hpp>
#include <string>

#include "config/effective.hpp"
#include "config/manifest_parser.hpp"
#include "test_env.hpp"

using namespace registrar::config;
using registrar::config::test::env_of;
using registrar::config::test::error_of;
using registrar::config::test::parse;
using namespace std::chrono_literals;

namespace {

const std::string kNacos = "registry:\n  kind: nacos\n";

NacosSpec nacos_of(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  return parse(yaml, env_of(std::move(env))).registry.nacos;
}

std::string nacos_error(const std::string& section, std::map<std::string, std::string> env = {}) {
  return error_of(kNacos + "  nacos:\n" + section, env_of(std::move(env)));
}

}  // namespace

TEST_CASE("registry.kind nacos: every key has its default") {
  Manifest m = parse(kNacos);
  CHECK(m.registry.kind == RegistryKind::Nacos);
  const NacosSpec& n = m.registry.nacos;
  CHECK(n.servers == std::vector<std::string>{"127.0.0.1:8848"});
  CHECK(n.namespace_id == "public");
  CHECK(n.group == "DEFAULT_GROUP");
  CHECK(n.cluster == "DEFAULT");
  CHECK(n.weight == 1.0);
  CHECK(n.request_timeout == 3s);
  CHECK(n.username.empty());
  CHECK(n.password_source.empty());
  CHECK_FALSE(n.tls.enabled);
}

TEST_CASE("registry.nacos: every key set") {
  const NacosSpec n = nacos_of(kNacos +
                               "  nacos:\n"
                               "    servers: [\"http://10.0.0.1:8848/\", \"nacos-2:8848\"]\n"
                               "    namespace: dev-ns_1\n"
                               "    group: grpc.services:v1\n"
                               "    cluster: zone-a\n"
                               "    weight: 2.5\n"
                               "    request_timeout: 800ms\n"
                               "    username: registrar\n"
                               "    password_file: /run/secrets/nacos\n"
                               "    tls: {ca_file: /etc/nacos/ca.pem}\n");
  CHECK(n.servers == std::vector<std::string>{"10.0.0.1:8848", "nacos-2:8848"});
  CHECK(n.namespace_id == "dev-ns_1");
  CHECK(n.group == "grpc.services:v1");
  CHECK(n.cluster == "zone-a");
  CHECK(n.weight == 2.5);
  CHECK(n.request_timeout == 800ms);
  CHECK(n.username == "registrar");
  CHECK(n.password_file == "/run/secrets/nacos");
  CHECK(n.password_source == "registry.nacos.password_file (/run/secrets/nacos)");
  CHECK(n.tls.enabled);
  CHECK(n.tls.ca_file == "/etc/nacos/ca.pem");
}

TEST_CASE("registry.nacos.servers: a comma-separated string, and https:// turns TLS on") {
  NacosSpec n = nacos_of(kNacos + "  nacos: {servers: \"a:1, b:2\"}\n");
  CHECK(n.servers == std::vector<std::string>{"a:1", "b:2"});
  CHECK_FALSE(n.tls.enabled);
  n = nacos_of(kNacos + "  nacos: {servers: [\"https://a:8848\", \"HTTPS://b:8848/\"]}\n");
  CHECK(n.servers == std::vector<std::string>{"a:8848", "b:8848"});
  CHECK(n.tls.enabled);
}

TEST_CASE("registry.nacos: the password from $NACOS_PASSWORD when no file is named") {
  const NacosSpec n =
      nacos_of(kNacos + "  nacos: {username: registrar}\n", {{"NACOS_PASSWORD", "pw from env"}});
  CHECK(n.password == "pw from env");
  CHECK(n.password_source == "NACOS_PASSWORD");
  // The effective configuration names the variable, never the value.
  const std::string shown = render_effective(parse(kNacos + "  nacos: {username: registrar}\n",
                                                   env_of({{"NACOS_PASSWORD", "pw from env"}})));
  CHECK(shown.find("pw from env") == std::string::npos);
  CHECK(shown.find("password from NACOS_PASSWORD") != std::string::npos);
  // The section of another kind is validated, but its environment does not count.
  CHECK(parse("registry:\n  nacos: {username: registrar}\n").registry.nacos.password.empty());
}

TEST_CASE("registry.nacos: bad values are one line naming file, line, column and field") {
  CHECK(nacos_error("    servers: []\n") ==
        "m.yaml:4:14: registry.nacos.servers: at least one server is required, e.g. "
        "[\"127.0.0.1:8848\"]");
  CHECK(nacos_error("    servers: [\"ftp://a:1\"]\n")
            .starts_with("m.yaml:4:15: registry.nacos.servers[0]: unsupported scheme \"ftp://\""));
  CHECK(nacos_error("    servers: [\"https://a:1\", \"b:2\"]\n") ==
        "m.yaml:4:30: registry.nacos.servers[1]: mixes https:// and plain servers: HTTPS is for "
        "all servers or none");
  CHECK(nacos_error("    namespace: \"my ns\"\n") ==
        "m.yaml:4:16: registry.nacos.namespace: must be a namespace id: letters, digits, '_' and "
        "'-', got \"my ns\"");
  CHECK(nacos_error("    group: \"a@@b\"\n") ==
        "m.yaml:4:12: registry.nacos.group: may hold letters, digits, '_', '-', '.' and ':', got "
        "\"a@@b\"");
  CHECK(nacos_error("    cluster: zone_a\n") ==
        "m.yaml:4:14: registry.nacos.cluster: may hold letters, digits and '-' only (Nacos's "
        "cluster name syntax), got \"zone_a\"");
  CHECK(nacos_error("    weight: 10001\n") ==
        "m.yaml:4:13: registry.nacos.weight: must be between 0 and 10000 (Nacos's range), got "
        "10001");
  CHECK(nacos_error("    request_timeout: 6s\n") ==
        "m.yaml:4:22: registry.nacos.request_timeout: must be at most 5s (a third of Nacos's 15 s "
        "heart-beat timeout, so that a slow server leaves time to retry a beat), got 6s");
  CHECK(nacos_error("    password_file: /x\n") ==
        "m.yaml:4:20: registry.nacos.password_file: needs username as well");
  CHECK(nacos_error("    username: registrar\n") ==
        "m.yaml:4:15: registry.nacos.username: needs a password: set "
        "registry.nacos.password_file (or $NACOS_PASSWORD)");
  CHECK(
      nacos_error("    password: hunter2\n").find("a password is never written in the manifest") !=
      std::string::npos);
  CHECK(nacos_error("    servers: [\"https://a:1\"]\n    tls: {enabled: false}\n") ==
        "m.yaml:5:10: registry.nacos.tls: TLS is turned off here but the servers say https://");
}

TEST_CASE("registry.nacos: the effective configuration shows the section in use") {
  const std::string shown =
      render_effective(parse(kNacos + "  nacos: {servers: [\"a:1\", \"b:2\"], weight: 3}\n"));
  CHECK(shown.find("kind: nacos") != std::string::npos);
  CHECK(shown.find("nacos:") != std::string::npos);
  CHECK(shown.find("namespace: public") != std::string::npos);
  CHECK(shown.find("group: DEFAULT_GROUP") != std::string::npos);
  CHECK(shown.find("weight: 3") != std::string::npos);
  CHECK(shown.find("request_timeout: 3s") != std::string::npos);
}
