// registry.eureka: keys, defaults, URL parsing, the timing rules, basic auth from a file or the
// environment, TLS with https:// URLs, what Eureka accepts in meta, and the example manifest.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
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

const std::string kEureka = "registry:\n  kind: eureka\n";

EurekaSpec eureka_of(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  return parse(kEureka + "  eureka:\n" + yaml, env_of(std::move(env))).registry.eureka;
}

std::string eureka_error(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  return error_of(kEureka + "  eureka:\n" + yaml, env_of(std::move(env)));
}

}  // namespace

TEST_CASE("registry.kind eureka: every key has its default") {
  Manifest m = parse(kEureka);
  CHECK(m.registry.kind == RegistryKind::Eureka);
  const EurekaSpec& e = m.registry.eureka;
  REQUIRE(e.servers.size() == 1);
  CHECK(e.servers[0].url == "http://127.0.0.1:8761/eureka");
  CHECK(e.servers[0].address == "127.0.0.1:8761");
  CHECK(e.servers[0].path == "/eureka");
  CHECK_FALSE(e.servers[0].https);
  CHECK(e.renewal_interval == 30s);
  CHECK(e.lease_duration == 90s);
  CHECK(e.request_timeout == 3s);
  CHECK(e.username.empty());
  CHECK_FALSE(e.tls.enabled);
}

TEST_CASE("registry.eureka: urls in order, normalised") {
  const EurekaSpec e = eureka_of(
      "    urls: [http://eureka-a:8761/eureka/, 'https://[::1]/eureka/v2', http://10.0.0.3]\n");
  REQUIRE(e.servers.size() == 3);
  CHECK(e.servers[0].url == "http://eureka-a:8761/eureka");
  CHECK(e.servers[1].url == "https://[::1]:443/eureka/v2");
  CHECK(e.servers[1].address == "[::1]:443");
  CHECK(e.servers[1].host == "::1");
  CHECK(e.servers[1].https);
  CHECK(e.servers[2].address == "10.0.0.3:80");
  CHECK(e.servers[2].path.empty());
  CHECK(e.tls.enabled);  // one https:// URL turns TLS on for it
}

TEST_CASE("registry.eureka: bad values are one line with file:line:col") {
  CHECK(eureka_error("    urls: []\n") ==
        "m.yaml:4:11: registry.eureka.urls: needs at least one server URL, e.g. "
        "[http://eureka:8761/eureka]");
  CHECK(eureka_error("    urls: [eureka:8761]\n")
            .starts_with(
                "m.yaml:4:12: registry.eureka.urls[0]: expected an http:// or https:// URL"));
  CHECK(eureka_error("    urls: ['http://u:p@eureka:8761/eureka']\n")
            .find("credentials do not belong in a URL") != std::string::npos);
  CHECK(eureka_error("    urls: ['http://eureka:0/eureka']\n").find("bad port") !=
        std::string::npos);
  CHECK(eureka_error("    urls: [http://a/eureka, http://a:80/eureka]\n").find("duplicate URL") !=
        std::string::npos);
  CHECK(eureka_error("    lease_duration: 2500ms\n") ==
        "m.yaml:4:21: registry.eureka.lease_duration: must be whole seconds (Eureka's "
        "leaseInfo.durationInSecs), got 2s500ms");
  CHECK(eureka_error("    renewal_interval: 10s\n    lease_duration: 15s\n") ==
        "m.yaml:5:21: registry.eureka.lease_duration: lease_duration (15s) must be at least twice "
        "renewal_interval (10s), so that one lost heartbeat cannot let the lease expire");
  CHECK(eureka_error("    renewal_interval: 2s\n    request_timeout: 1500ms\n")
            .starts_with("m.yaml:5:22: registry.eureka.request_timeout: request_timeout (1s500ms) "
                         "must be at most half of renewal_interval (2s)"));
  CHECK(
      eureka_error("    renewal_interval: 500ms\n")
          .starts_with("m.yaml:4:23: registry.eureka.renewal_interval: must be between 1s and 1h"));
  CHECK(
      eureka_error("    password: hunter2\n").find("a password is never written in the manifest") !=
      std::string::npos);
  CHECK(eureka_error("    colour: blue\n").find("unknown key") != std::string::npos);
}

TEST_CASE("registry.eureka: basic auth from password_file or $EUREKA_PASSWORD, never shown") {
  const EurekaSpec f = eureka_of("    username: reg\n    password_file: /run/pw\n");
  CHECK(f.username == "reg");
  CHECK(f.password_file == "/run/pw");
  CHECK(f.password_source == "registry.eureka.password_file (/run/pw)");

  const EurekaSpec env = eureka_of("    username: reg\n", {{"EUREKA_PASSWORD", "s3cr3t-value"}});
  CHECK(env.password == "s3cr3t-value");
  CHECK(env.password_source == "EUREKA_PASSWORD");
  std::string rendered = render_effective(parse(kEureka + "  eureka:\n    username: reg\n",
                                                env_of({{"EUREKA_PASSWORD", "s3cr3t-value"}})));
  CHECK(rendered.find("s3cr3t-value") == std::string::npos);
  CHECK(rendered.find("password from EUREKA_PASSWORD") != std::string::npos);

  CHECK(eureka_error("    username: reg\n") ==
        "m.yaml:4:15: registry.eureka.username: needs a password: set "
        "registry.eureka.password_file (or $EUREKA_PASSWORD)");
  CHECK(eureka_error("    password_file: /run/pw\n").find("needs username as well") !=
        std::string::npos);
  CHECK(eureka_error("    username: 'a:b'\n    password_file: /p\n").find("must not contain ':'") !=
        std::string::npos);
}

TEST_CASE("registry.eureka: tls needs https:// URLs") {
  const EurekaSpec e =
      eureka_of("    urls: [https://eureka:8443/eureka]\n    tls: {ca_file: /etc/ca.pem}\n");
  CHECK(e.tls.enabled);
  CHECK(e.tls.ca_file == "/etc/ca.pem");
  CHECK(eureka_error("    urls: [http://eureka:8761/eureka]\n    tls: {ca_file: /etc/ca.pem}\n")
            .find("TLS is on here but \"http://eureka:8761/eureka\" is http://") !=
        std::string::npos);
}

TEST_CASE("kind eureka: meta keys must be XML names, gRPC_port is reserved") {
  const std::string services =
      "services:\n  - {name: hello, address: 127.0.0.1, port: 50051, meta: ";
  CHECK(error_of(kEureka + services + "{gRPC_port: '1'}}\n") ==
        "m.yaml:4:5: services[0].meta: key \"gRPC_port\" is reserved: grpc-registrar sets it to "
        "the service's port");
  CHECK(error_of(kEureka + services + "{'1zone': a}}\n").find("is not allowed by Eureka") !=
        std::string::npos);
  CHECK(parse(kEureka + services + "{zone_1.x-y: a}}\n").services.at(0).meta.size() == 1);
  // The same meta is fine for another backend.
  CHECK(parse("registry: {kind: etcd}\n" + services + "{gRPC_port: '1'}}\n").services.size() == 1);
}

TEST_CASE("config/eureka.example.yaml parses, shows every key, and renders back the same") {
  const std::string path = std::string(REGISTRAR_CONFIG_DIR) + "/eureka.example.yaml";
  Manifest m = load_manifest(path, env_of({}));
  CHECK(m.registry.kind == RegistryKind::Eureka);
  CHECK(m.registry.eureka.servers.size() == 2);
  CHECK(m.services.at(0).meta.at("zone") == "a");
  Manifest again = parse_manifest(render_effective(m), path, env_of({}));
  CHECK(again.registry.eureka.servers == m.registry.eureka.servers);
  CHECK(again.registry.eureka.lease_duration == m.registry.eureka.lease_duration);

  // The commented keys (auth, tls) parse too, once the URLs are https://.
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  for (const char* key :
       {"username:", "password_file:", "tls:", "ca_file:", "cert_file:", "key_file:",
        "server_name:", "urls:", "renewal_interval:", "lease_duration:", "request_timeout:"}) {
    INFO(key);
    CHECK(all.find(key) != std::string::npos);
  }
}
