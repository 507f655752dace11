// registry.consul: keys, defaults, environment fallbacks (Consul's own variables), validation
// with positions, and redaction of the token in `check` output.
#include <catch2/catch.hpp>
#include <string>

#include "config/consul_limits.hpp"
#include "config/effective.hpp"
#include "config/manifest_parser.hpp"
#include "support/secrets.hpp"
#include "test_env.hpp"

using namespace registrar::config;
using registrar::config::test::env_of;
using registrar::config::test::error_of;
using registrar::config::test::parse;
using namespace std::chrono_literals;

namespace {

const std::string kConsul = "registry:\n  kind: consul\n";

ConsulSpec consul_of(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  return parse(yaml, env_of(std::move(env))).registry.consul;
}

}  // namespace

TEST_CASE("registry.kind consul: every key has its default") {
  Manifest m = parse(kConsul);
  CHECK(m.registry.kind == RegistryKind::Consul);
  const ConsulSpec& c = m.registry.consul;
  CHECK(c.address == "127.0.0.1:8500");
  CHECK(c.address_source.empty());
  CHECK(c.token.empty());
  CHECK(c.token_file.empty());
  CHECK(c.token_source.empty());
  CHECK(c.owner.empty());  // filled in by the daemon at start: <hostname>:<manifest path>
  CHECK(c.check_ttl == 10s);
  CHECK(c.deregister_critical_after == 1min);
  CHECK(c.reconcile_interval == 30s);
  CHECK(c.request_timeout == 3s);
  CHECK_FALSE(c.weights.has_value());
}

TEST_CASE("registry.consul: every key set") {
  const ConsulSpec c = consul_of(kConsul +
                                 "  consul:\n"
                                 "    address: http://10.0.0.2:8500/\n"
                                 "    token: " +
                                 std::string(registrar::test::kKnownToken) +
                                 "\n"
                                 "    token_file: /run/secrets/consul-token\n"
                                 "    owner: pod-7\n"
                                 "    check_ttl: 2s\n"
                                 "    deregister_critical_after: 90m\n"
                                 "    reconcile_interval: 0\n"
                                 "    request_timeout: 1s\n"
                                 "    weights: {passing: 10}\n");
  CHECK(c.address == "10.0.0.2:8500");
  CHECK(c.token == registrar::test::kKnownToken);
  CHECK(c.token_file == "/run/secrets/consul-token");
  // The file is preferred over the inline token.
  CHECK(c.token_source == "registry.consul.token_file (/run/secrets/consul-token)");
  CHECK(c.owner == "pod-7");
  CHECK(c.check_ttl == 2s);
  CHECK(c.deregister_critical_after == 90min);
  CHECK(c.reconcile_interval == 0ms);
  CHECK(c.request_timeout == 1s);
  REQUIRE(c.weights.has_value());
  CHECK(c.weights->passing == 10);
  CHECK(c.weights->warning == 1);  // Consul's default
}

TEST_CASE("registry.consul.address: the forms Consul's tools accept") {
  auto address = [](const std::string& a) {
    return consul_of(kConsul + "  consul: {address: \"" + a + "\"}\n").address;
  };
  CHECK(address("127.0.0.1:8500") == "127.0.0.1:8500");
  CHECK(address("http://consul.local:8500") == "consul.local:8500");
  CHECK(address("HTTP://10.1.2.3:18500") == "10.1.2.3:18500");
  CHECK(address("[::1]:8500") == "[::1]:8500");
  CHECK(address("unix:///var/run/consul/http.sock") == "unix:///var/run/consul/http.sock");
}

TEST_CASE("registry.consul.address: refusals name the field and position") {
  auto error = [](const std::string& a) {
    return error_of(kConsul + "  consul: {address: \"" + a + "\"}\n");
  };
  CHECK(error("unix://consul.sock") ==
        "m.yaml:3:21: registry.consul.address: \"unix://consul.sock\": the socket path must be "
        "absolute, e.g. unix:///var/run/consul/http.sock");
  CHECK(error("ftp://x:1") ==
        "m.yaml:3:21: registry.consul.address: unsupported scheme \"ftp://\" (use host:port, "
        "http://host:port, https://host:port or unix:///path)");
  CHECK(error("consul") ==
        "m.yaml:3:21: registry.consul.address: \"consul\" has no port; expected host:port, e.g. "
        "127.0.0.1:8500");
  CHECK(error("0.0.0.0:8500") ==
        "m.yaml:3:21: registry.consul.address: \"0.0.0.0\" is a wildcard listen address, not one "
        "clients can dial; use a concrete address");
}

TEST_CASE("registry.consul: CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, CONSUL_HTTP_TOKEN_FILE") {
  SECTION("used for the keys the manifest leaves out") {
    const ConsulSpec c = consul_of(kConsul, {{"CONSUL_HTTP_ADDR", "http://10.9.9.9:8500"},
                                             {"CONSUL_HTTP_TOKEN", registrar::test::kKnownToken}});
    CHECK(c.address == "10.9.9.9:8500");
    CHECK(c.address_source == "CONSUL_HTTP_ADDR");
    CHECK(c.token == registrar::test::kKnownToken);
    CHECK(c.token_source == "CONSUL_HTTP_TOKEN");
  }
  SECTION("a unix socket address") {
    CHECK(consul_of(kConsul, {{"CONSUL_HTTP_ADDR", "unix:///tmp/consul.sock"}}).address ==
          "unix:///tmp/consul.sock");
  }
  SECTION("the token file is preferred over the token, as in Consul's tools") {
    const ConsulSpec c = consul_of(
        kConsul, {{"CONSUL_HTTP_TOKEN", "t"}, {"CONSUL_HTTP_TOKEN_FILE", "/etc/consul.token"}});
    CHECK(c.token_file == "/etc/consul.token");
    CHECK(c.token == "t");  // used if the file is empty
    CHECK(c.token_source == "CONSUL_HTTP_TOKEN_FILE (/etc/consul.token)");
  }
  SECTION("the manifest's keys win over the environment") {
    const ConsulSpec c =
        consul_of(kConsul + "  consul: {address: 10.0.0.1:8500, token_file: /a}\n",
                  {{"CONSUL_HTTP_ADDR", "10.9.9.9:8500"}, {"CONSUL_HTTP_TOKEN", "env"}});
    CHECK(c.address == "10.0.0.1:8500");
    CHECK(c.address_source.empty());
    CHECK(c.token.empty());
    CHECK(c.token_source == "registry.consul.token_file (/a)");
  }
  SECTION("empty variables count as unset") {
    const ConsulSpec c = consul_of(kConsul, {{"CONSUL_HTTP_ADDR", ""}, {"CONSUL_HTTP_TOKEN", ""}});
    CHECK(c.address == "127.0.0.1:8500");
    CHECK(c.token_source.empty());
  }
  SECTION("ignored when registry.kind is etcd") {
    Manifest m =
        parse("registry: {kind: etcd}\n",
              env_of({{"CONSUL_HTTP_ADDR", "https://bad:1"}, {"CONSUL_HTTP_SSL", "true"}}));
    CHECK(m.registry.consul.address == "127.0.0.1:8500");
  }
  SECTION("a bad CONSUL_HTTP_ADDR is refused at registry.kind, naming the variable") {
    CHECK(error_of(kConsul, env_of({{"CONSUL_HTTP_ADDR", "gopher://c:8501"}})) ==
          "m.yaml:2:9: registry.consul.address: unsupported scheme \"gopher://\" (use host:port, "
          "http://host:port, https://host:port or unix:///path) (from CONSUL_HTTP_ADDR)");
    CHECK(error_of(kConsul + "  consul: {reconcile_interval: 5s}\n",
                   env_of({{"CONSUL_HTTP_ADDR", "nope"}})) ==
          "m.yaml:3:11: registry.consul.address: \"nope\" has no port; expected host:port, e.g. "
          "127.0.0.1:8500 (from CONSUL_HTTP_ADDR)");
  }
  SECTION("CONSUL_HTTP_SSL turns TLS on or off") {
    CHECK(consul_of(kConsul, {{"CONSUL_HTTP_SSL", "true"}}).tls.enabled);
    CHECK_FALSE(consul_of(kConsul, {{"CONSUL_HTTP_SSL", "false"}}).tls.enabled);
    CHECK(consul_of(kConsul, {{"CONSUL_HTTP_SSL", "false"}}).address == "127.0.0.1:8500");
  }
  SECTION("a token with a newline is refused without showing it") {
    const std::string e = error_of(kConsul, env_of({{"CONSUL_HTTP_TOKEN", "abc\ndef"}}));
    CHECK(e ==
          "m.yaml:2:9: registry.consul.token: CONSUL_HTTP_TOKEN must not contain control "
          "characters (the value is not shown)");
    CHECK(error_of(kConsul + "  consul: {token: \"ab\\ncd\"}\n") ==
          "m.yaml:3:19: registry.consul.token: must not contain control characters (the value is "
          "not shown)");
  }
}

TEST_CASE("registry.consul: durations and their ranges") {
  CHECK(error_of(kConsul + "  consul: {check_ttl: 500ms}\n") ==
        "m.yaml:3:23: registry.consul.check_ttl: must be between 1s and 1h, got 500ms");
  CHECK(error_of(kConsul + "  consul: {deregister_critical_after: 30s}\n") ==
        "m.yaml:3:39: registry.consul.deregister_critical_after: must be between 1m (Consul's "
        "minimum) and 168h, got 30s");
  CHECK(error_of(kConsul + "  consul: {reconcile_interval: 500ms}\n") ==
        "m.yaml:3:32: registry.consul.reconcile_interval: must be 0 (off) or between 1s and 24h, "
        "got 500ms");
  CHECK(error_of(kConsul + "  consul: {request_timeout: 6s}\n") ==
        "m.yaml:3:29: registry.consul.request_timeout: request_timeout (6s) must be at most half "
        "of check_ttl (10s), so that one slow request cannot let a check expire");
  CHECK(error_of(kConsul + "  consul: {check_ttl: 2s}\n") ==
        "m.yaml:3:23: registry.consul.check_ttl: request_timeout (3s) must be at most half of "
        "check_ttl (2s), so that one slow request cannot let a check expire");
  CHECK(consul_of(kConsul + "  consul: {check_ttl: 2s, request_timeout: 1s}\n").check_ttl == 2s);
  CHECK(
      error_of(kConsul + "  consul: {check_tll: 5s}\n") ==
      R"(m.yaml:3:12: registry.consul.check_tll: unknown key "check_tll"; did you mean "check_ttl"?)");
}

TEST_CASE("registry.consul.weights") {
  CHECK(error_of(kConsul + "  consul: {weights: {passing: 0}}\n") ==
        "m.yaml:3:31: registry.consul.weights.passing: 0 is out of range (1-65535)");
  CHECK(
      error_of(kConsul + "  consul: {weights: {critical: 1}}\n") ==
      R"(m.yaml:3:22: registry.consul.weights.critical: unknown key "critical" (allowed: passing, warning))");
  const ConsulSpec c = consul_of(kConsul + "  consul: {weights: {passing: 3, warning: 0}}\n");
  REQUIRE(c.weights.has_value());
  CHECK(c.weights->passing == 3);
  CHECK(c.weights->warning == 0);
}

TEST_CASE("registry.kind consul: service metadata must suit Consul") {
  const std::string svc =
      "services:\n"
      "  - name: a\n"
      "    address: 10.0.0.1\n"
      "    port: 1\n";
  CHECK(error_of(kConsul + svc + "    meta: {a.b: x}\n") ==
        "m.yaml:7:12: services[0].meta: key \"a.b\" is not allowed by Consul (registry.kind is "
        "consul): use at most 128 letters, digits, '-' and '_'");
  CHECK(error_of(kConsul + svc + "    meta: {consul-x: x}\n") ==
        "m.yaml:7:12: services[0].meta: key \"consul-x\" is not allowed by Consul: the prefix "
        "\"consul-\" is reserved");
  CHECK(error_of(kConsul + svc + "    meta: {managed-by: me}\n") ==
        "m.yaml:7:12: services[0].meta: key \"managed-by\" is reserved: grpc-registrar marks its "
        "Consul services with it");
  CHECK(error_of(kConsul + svc + "    meta: {k: \"" + std::string(513, 'v') + "\"}\n") ==
        "m.yaml:7:15: services[0].meta.k: value is longer than Consul allows (512 bytes)");
  // etcd has no such rules: the same service is fine there.
  CHECK(
      parse("registry: {kind: etcd}\n" + svc + "    meta: {a.b: x}\n").services[0].meta.at("a.b") ==
      "x");
}

TEST_CASE("Consul meta: the keys the backend writes are reserved, and leave 62 of Consul's 64") {
  const std::string svc =
      "services:\n"
      "  - name: a\n"
      "    address: 10.0.0.1\n"
      "    port: 1\n";
  // Both keys of config/consul_limits.hpp, which the Consul backend writes into every service.
  REQUIRE(kConsulReservedMetaKeys.size() == 2);
  for (std::string_view key : kConsulReservedMetaKeys) {
    INFO(key);
    CHECK(error_of(kConsul + svc + "    meta: {" + std::string(key) + ": me}\n") ==
          "m.yaml:7:12: services[0].meta: key \"" + std::string(key) +
              "\" is reserved: grpc-registrar marks its Consul services with it");
  }
  std::string meta = "    meta: {";
  for (int i = 0; i < 62; ++i) meta += (i == 0 ? "k" : ", k") + std::to_string(i) + ": v";
  CHECK(parse(kConsul + svc + meta + "}\n").services[0].meta.size() == 62);
  const std::string column = std::to_string(meta.size() + 3);  // after ", ", 1-based
  CHECK(error_of(kConsul + svc + meta + ", k62: v}\n") ==
        "m.yaml:7:" + column +
            ": services[0].meta.k62: too many keys for Consul: at most 62 (Consul allows 64, "
            "grpc-registrar uses 2)");
  // The owner is a Meta value too.
  CHECK(consul_of(kConsul + "  consul: {owner: " + std::string(512, 'o') + "}\n").owner.size() ==
        512);
  CHECK(error_of(kConsul + "  consul: {owner: " + std::string(513, 'o') + "}\n") ==
        "m.yaml:3:19: registry.consul.owner: must be at most 512 bytes (it is stored in Consul "
        "service metadata)");
}

TEST_CASE("one manifest, both sections: only registry.kind decides the backend") {
  const std::string both =
      "  etcd: {endpoints: [127.0.0.1:2379], lease_ttl: 5s}\n"
      "  consul: {address: 127.0.0.1:8500, check_ttl: 5s, request_timeout: 1s}\n"
      "services:\n"
      "  - {name: hello, address: 127.0.0.1, port: 50051, tags: [v1], meta: {zone: a}}\n";
  Manifest etcd = parse("registry:\n  kind: etcd\n" + both);
  Manifest consul = parse("registry:\n  kind: consul\n" + both);
  CHECK(etcd.registry.kind == RegistryKind::Etcd);
  CHECK(consul.registry.kind == RegistryKind::Consul);
  CHECK(etcd.services == consul.services);
  CHECK(consul.registry.consul.check_ttl == 5s);
  CHECK(etcd.registry.etcd.lease_ttl == 5s);
}

TEST_CASE("check output: the Consul token is redacted, everything else round-trips") {
  const std::string yaml = kConsul +
                           "  consul:\n"
                           "    token: " +
                           std::string(registrar::test::kKnownToken) +
                           "\n"
                           "    owner: node-1\n"
                           "    weights: {passing: 5, warning: 2}\n"
                           "services: []\n";
  Manifest m = parse(yaml);
  const std::string out = render_effective(m);
  CHECK(out.find(registrar::test::kKnownToken) == std::string::npos);
  CHECK(out.find("token: <redacted>") != std::string::npos);
  CHECK(out.find("token_file") == std::string::npos);  // none set
  Manifest back = parse(out);
  CHECK(back.registry.kind == RegistryKind::Consul);
  CHECK(back.registry.consul.address == m.registry.consul.address);
  CHECK(back.registry.consul.owner == "node-1");
  CHECK(back.registry.consul.check_ttl == m.registry.consul.check_ttl);
  CHECK(back.registry.consul.deregister_critical_after ==
        m.registry.consul.deregister_critical_after);
  CHECK(back.registry.consul.reconcile_interval == m.registry.consul.reconcile_interval);
  CHECK(back.registry.consul.request_timeout == m.registry.consul.request_timeout);
  CHECK(back.registry.consul.weights == m.registry.consul.weights);
}

TEST_CASE("check output says which values came from the environment") {
  Manifest m =
      parse(kConsul,
            env_of({{"CONSUL_HTTP_ADDR", "10.0.0.3:8500"}, {"CONSUL_HTTP_TOKEN", "env-secret"}}));
  const std::string out = render_effective(m);
  CHECK(out.find("env-secret") == std::string::npos);
  CHECK(out.find("address: 10.0.0.3:8500  # from CONSUL_HTTP_ADDR") != std::string::npos);
  CHECK(out.find("token: <redacted>  # from CONSUL_HTTP_TOKEN") != std::string::npos);
}
