// Every way a manifest is refused, with the exact one-line message.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "config/manifest_parser.hpp"
#include "test_env.hpp"

using registrar::config::ConfigError;
using registrar::config::kExitConfig;
using registrar::config::test::env_of;
using registrar::config::test::error_of;

namespace {

// One valid service (lines 1-4), to which a row may append keys at the indentation of line 4.
const std::string kService =
    "services:\n"
    "  - name: a\n"
    "    address: h\n"
    "    port: 1\n";

struct Row {
  std::string yaml;
  std::string error;
};

const std::vector<Row>& rows() {
  static const std::vector<Row> table{
      // ---- unknown keys
      {"service:\n  - name: a\n",
       R"(m.yaml:1:1: service: unknown key "service"; did you mean "services"?)"},
      {"foo: 1\n",
       R"(m.yaml:1:1: foo: unknown key "foo" (allowed: registry, defaults, services, drain, shutdown_timeout, status))"},
      {"registry:\n  etcd:\n    endpoint: [a:1]\n",
       R"(m.yaml:3:5: registry.etcd.endpoint: unknown key "endpoint"; did you mean "endpoints"?)"},
      {"registry:\n  backof: {}\n",
       R"(m.yaml:2:3: registry.backof: unknown key "backof"; did you mean "backoff"?)"},
      {"registry:\n  backoff: {maximum: 1s}\n",
       R"(m.yaml:2:13: registry.backoff.maximum: unknown key "maximum" (allowed: initial, max, multiplier, jitter))"},
      {kService + "    tag: [x]\n",
       R"(m.yaml:5:5: services[0].tag: unknown key "tag"; did you mean "tags"?)"},
      {kService + "    probe: {targett: x}\n",
       R"(m.yaml:5:13: services[0].probe.targett: unknown key "targett"; did you mean "target"?)"},
      {"defaults:\n  probe:\n    target: a:1\n",
       "m.yaml:3:5: defaults.probe.target: can only be set per service, in services[].probe"},
      {"defaults:\n  interval: 1s\n",
       R"(m.yaml:2:3: defaults.interval: unknown key "interval" (allowed: probe))"},
      {"drain: 1s\ndrain: 2s\n",
       R"(m.yaml:2:1: drain: duplicate key "drain" (first set at line 1))"},
      {"{[a]: 1}\n", "m.yaml:1:2: keys must be strings, got a list"},
      // ---- wrong types
      {"registry: etcd\n", R"(m.yaml:1:11: registry: expected a map, got "etcd")"},
      {"services: {name: a}\n", "m.yaml:1:11: services: expected a list, got a map"},
      {"services:\n  - hello\n", R"(m.yaml:2:5: services[0]: expected a map, got "hello")"},
      {"services:\n  - {name: a, address: h, port: {x: 1}}\n",
       "m.yaml:2:33: services[0].port: expected an integer, got a map"},
      {"services:\n  - name: a\n    address: h\n    port: [1]\n",
       "m.yaml:4:11: services[0].port: expected an integer, got a list"},
      {"services:\n  - name: a\n    address: h\n    port: abc\n",
       R"(m.yaml:4:11: services[0].port: expected an integer, got "abc")"},
      {"services:\n  - name: a\n    address: h\n    port: 1.5\n",
       R"(m.yaml:4:11: services[0].port: expected an integer, got "1.5")"},
      {"services:\n  - name: a\n    address: h\n    port:\n",
       "m.yaml:4:5: services[0].port: expected an integer, got an empty value"},
      {"services:\n  - name: [a]\n    address: h\n    port: 1\n",
       "m.yaml:2:11: services[0].name: expected a string, got a list"},
      {kService + "    tags: v1\n", R"(m.yaml:5:11: services[0].tags: expected a list, got "v1")"},
      {kService + "    tags: [x, {a: b}]\n",
       "m.yaml:5:15: services[0].tags[1]: expected a string, got a map"},
      {kService + "    meta: {zone: {a: b}}\n",
       "m.yaml:5:18: services[0].meta.zone: meta values must be strings, got a map"},
      {"registry:\n  backoff: {multiplier: fast}\n",
       R"(m.yaml:2:25: registry.backoff.multiplier: expected a number, got "fast")"},
      // ---- ranges
      {"services:\n  - name: a\n    address: h\n    port: 70000\n",
       "m.yaml:4:11: services[0].port: 70000 is out of range (1-65535)"},
      {"services:\n  - name: a\n    address: h\n    port: 0\n",
       "m.yaml:4:11: services[0].port: 0 is out of range (1-65535)"},
      {"services:\n  - name: a\n    address: h\n    port: -1\n",
       "m.yaml:4:11: services[0].port: -1 is out of range (1-65535)"},
      {kService + "    probe:\n      rise: 0\n",
       "m.yaml:6:13: services[0].probe.rise: must be at least 1, got 0"},
      {"defaults:\n  probe: {rise: -3}\n",
       "m.yaml:2:17: defaults.probe.rise: must be at least 1, got -3"},
      {"defaults:\n  probe: {rise: 99999999999}\n",
       "m.yaml:2:17: defaults.probe.rise: 99999999999 is out of range (1-2147483647)"},
      {"defaults:\n  probe: {fall: 0}\n",
       "m.yaml:2:17: defaults.probe.fall: must be at least 1, got 0"},
      {"defaults:\n  probe: {interval: 0}\n",
       "m.yaml:2:21: defaults.probe.interval: must be between 10ms and 1h, got 0s"},
      {"defaults:\n  probe: {liveness_interval: 0}\n",
       "m.yaml:2:30: defaults.probe.liveness_interval: must be between 10ms and 1h, got 0s"},
      {kService + "    probe: {liveness_interval: 2h}\n",
       "m.yaml:5:32: services[0].probe.liveness_interval: must be between 10ms and 1h, got 2h"},
      {"defaults:\n  probe: {liveness_interval: 10}\n",
       R"(m.yaml:2:30: defaults.probe.liveness_interval: invalid duration "10": missing unit (ms, s, m, h), e.g. 10s)"},
      {"defaults:\n  probe: {liveness_intervall: 10s}\n",
       R"(m.yaml:2:11: defaults.probe.liveness_intervall: unknown key "liveness_intervall"; did you mean "liveness_interval"?)"},
      {"defaults:\n  probe: {liveness: 10s}\n",
       R"(m.yaml:2:11: defaults.probe.liveness: unknown key "liveness" (allowed: mode, interval, timeout, rise, fall, tls, liveness_interval, transparent_retry))"},
      {"registry:\n  backoff: {multiplier: 0.5}\n",
       "m.yaml:2:25: registry.backoff.multiplier: must be at least 1, got 0.5"},
      {"registry:\n  backoff: {jitter: 1.5}\n",
       "m.yaml:2:21: registry.backoff.jitter: must be between 0 and 1, got 1.5"},
      {"registry:\n  backoff: {initial: 2s, max: 1s}\n",
       "m.yaml:2:31: registry.backoff.max: max (1s) must not be less than initial (2s)"},
      {"registry:\n  backoff: {initial: 1m}\n",
       "m.yaml:2:22: registry.backoff.initial: max (30s) must not be less than initial (1m)"},
      {"shutdown_timeout: 0s\n",
       "m.yaml:1:19: shutdown_timeout: must be between 100ms and 10m, got 0s"},
      // ---- durations
      {"drain: 10\n",
       R"(m.yaml:1:8: drain: invalid duration "10": missing unit (ms, s, m, h), e.g. 10s)"},
      {"drain: -1s\n",
       R"(m.yaml:1:8: drain: invalid duration "-1s": negative durations are not allowed)"},
      {"registry:\n  etcd:\n    lease_ttl: 1.5s\n",
       R"(m.yaml:3:16: registry.etcd.lease_ttl: invalid duration "1.5s": fractions are not allowed; use a smaller unit, e.g. 1500ms instead of 1.5s)"},
      {"drain: 5d\n",
       R"(m.yaml:1:8: drain: invalid duration "5d": unknown unit "d" (allowed: ms, s, m, h))"},
      {"drain: 30s1m\n",
       R"(m.yaml:1:8: drain: invalid duration "30s1m": units must appear once each, largest first (h, m, s, ms), e.g. 1h30m)"},
      {"registry:\n  etcd:\n    lease_ttl: 1s\n",
       "m.yaml:3:16: registry.etcd.lease_ttl: must be between 2s (etcd's minimum lease TTL) and "
       "24h, got 1s"},
      {"registry:\n  etcd:\n    lease_ttl: 2500ms\n",
       "m.yaml:3:16: registry.etcd.lease_ttl: must be whole seconds, got 2s500ms"},
      // ---- duration bounds (inclusive; the edges are accepted, see manifest_test.cpp)
      {"registry:\n  etcd:\n    dial_timeout: 0\n",
       "m.yaml:3:19: registry.etcd.dial_timeout: must be between 10ms and 10m, got 0s"},
      {"registry:\n  etcd:\n    dial_timeout: 9ms\n",
       "m.yaml:3:19: registry.etcd.dial_timeout: must be between 10ms and 10m, got 9ms"},
      {"registry:\n  etcd:\n    dial_timeout: 1000h\n",
       "m.yaml:3:19: registry.etcd.dial_timeout: must be between 10ms and 10m, got 1000h"},
      {"registry:\n  etcd:\n    dial_timeout: 10m1ms\n",
       "m.yaml:3:19: registry.etcd.dial_timeout: must be between 10ms and 10m, got 10m1ms"},
      {"registry:\n  etcd:\n    lease_ttl: 0\n",
       "m.yaml:3:16: registry.etcd.lease_ttl: must be between 2s (etcd's minimum lease TTL) and "
       "24h, got 0s"},
      {"registry:\n  etcd:\n    lease_ttl: 24h1s\n",
       "m.yaml:3:16: registry.etcd.lease_ttl: must be between 2s (etcd's minimum lease TTL) and "
       "24h, got 24h1s"},
      {"registry:\n  etcd:\n    lease_ttl: 100000h\n",
       "m.yaml:3:16: registry.etcd.lease_ttl: must be between 2s (etcd's minimum lease TTL) and "
       "24h, got 100000h"},
      {"registry:\n  etcd:\n    resync_interval: 999ms\n",
       "m.yaml:3:22: registry.etcd.resync_interval: must be 0 (off) or between 1s and 24h, got "
       "999ms"},
      {"registry:\n  etcd:\n    resync_interval: 24h1ms\n",
       "m.yaml:3:22: registry.etcd.resync_interval: must be 0 (off) or between 1s and 24h, got "
       "24h1ms"},
      {"registry:\n  etcd:\n    keepalive_time: 4s999ms\n",
       "m.yaml:3:21: registry.etcd.keepalive_time: must be between 5s and 2h, got 4s999ms"},
      {"registry:\n  etcd:\n    keepalive_time: 2h1ms\n",
       "m.yaml:3:21: registry.etcd.keepalive_time: must be between 5s and 2h, got 2h1ms"},
      {"registry:\n  etcd:\n    keepalive_timeout: 999ms\n",
       "m.yaml:3:24: registry.etcd.keepalive_timeout: must be between 1s and 10m, got 999ms"},
      {"registry:\n  etcd:\n    keepalive_timeout: 10m1ms\n",
       "m.yaml:3:24: registry.etcd.keepalive_timeout: must be between 1s and 10m, got 10m1ms"},
      {"registry:\n  backoff: {initial: 0}\n",
       "m.yaml:2:22: registry.backoff.initial: must be between 1ms and 1h, got 0s"},
      {"registry:\n  backoff: {initial: 1h1ms}\n",
       "m.yaml:2:22: registry.backoff.initial: must be between 1ms and 1h, got 1h1ms"},
      {"registry:\n  backoff: {max: 0s}\n",
       "m.yaml:2:18: registry.backoff.max: must be between 1ms and 1h, got 0s"},
      {"registry:\n  backoff: {max: 2h}\n",
       "m.yaml:2:18: registry.backoff.max: must be between 1ms and 1h, got 2h"},
      {"defaults:\n  probe: {interval: 9ms}\n",
       "m.yaml:2:21: defaults.probe.interval: must be between 10ms and 1h, got 9ms"},
      {"defaults:\n  probe: {interval: 1h1ms}\n",
       "m.yaml:2:21: defaults.probe.interval: must be between 10ms and 1h, got 1h1ms"},
      {"defaults:\n  probe: {timeout: 0}\n",
       "m.yaml:2:20: defaults.probe.timeout: must be between 10ms and 1h, got 0s"},
      {kService + "    probe: {interval: 5ms}\n",
       "m.yaml:5:23: services[0].probe.interval: must be between 10ms and 1h, got 5ms"},
      {kService + "    probe: {timeout: 2h}\n",
       "m.yaml:5:22: services[0].probe.timeout: must be between 10ms and 1h, got 2h"},
      {"drain: 1h1ms\n", "m.yaml:1:8: drain: must be at most 1h, got 1h1ms"},
      {"drain: 1000h\n", "m.yaml:1:8: drain: must be at most 1h, got 1000h"},
      {"shutdown_timeout: 99ms\n",
       "m.yaml:1:19: shutdown_timeout: must be between 100ms and 10m, got 99ms"},
      {"shutdown_timeout: 10m1s\n",
       "m.yaml:1:19: shutdown_timeout: must be between 100ms and 10m, got 10m1s"},
      {"shutdown_timeout: ${T}\n",
       "m.yaml:1:19: shutdown_timeout: must be between 100ms and 10m, got 1h"},
      // ---- enums
      {"registry:\n  etcd:\n    format: grpcgo\n",
       R"(m.yaml:3:13: registry.etcd.format: invalid value "grpcgo" (allowed: json, gokit, grpc-go); did you mean "grpc-go"?)"},
      {"defaults:\n  probe: {mode: push}\n",
       R"(m.yaml:2:17: defaults.probe.mode: invalid value "push" (allowed: watch, poll))"},
      {"registry:\n  kind: mdns\n",
       R"(m.yaml:2:9: registry.kind: invalid value "mdns" (allowed: etcd, consul, zookeeper, eureka, nacos))"},
      {"registry:\n  consul: {address: x}\n",
       R"(m.yaml:2:21: registry.consul.address: "x" has no port; expected host:port, e.g. 127.0.0.1:8500)"},
      // ---- etcd endpoints and prefix
      {"registry:\n  etcd:\n    endpoints: [https://e:2379]\n",
       "m.yaml:3:17: registry.etcd.endpoints[0]: use host:port; TLS to etcd is turned on by a "
       "registry.etcd.tls section, not by https://"},
      {"registry:\n  etcd:\n    endpoints: [a:1, etcd]\n",
       R"(m.yaml:3:22: registry.etcd.endpoints[1]: "etcd" has no port; expected host:port, e.g. 127.0.0.1:2379)"},
      {"registry:\n  etcd:\n    endpoints: []\n",
       "m.yaml:3:16: registry.etcd.endpoints: at least one endpoint is required"},
      {"registry:\n  etcd:\n    endpoints: ::1:2379\n",
       R"(m.yaml:3:16: registry.etcd.endpoints: "::1:2379": put IPv6 addresses in brackets, e.g. [::1]:2379)"},
      {"registry:\n  etcd:\n    prefix: services\n",
       R"(m.yaml:3:13: registry.etcd.prefix: must start with "/", got "services")"},
      {"registry:\n  etcd:\n    prefix: /\n",
       "m.yaml:3:13: registry.etcd.prefix: must name at least one path segment, e.g. /services"},
      // ---- services
      {"services:\n  - address: h\n    port: 1\n",
       R"(m.yaml:2:5: services[0]: missing required key "name")"},
      {"services:\n  - name: a\n    port: 1\n",
       R"(m.yaml:2:5: services[0]: missing required key "address")"},
      {"services:\n  - name: a\n    address: h\n",
       R"(m.yaml:2:5: services[0]: missing required key "port")"},
      {"services:\n  - name: a/b\n    address: h\n    port: 1\n",
       R"(m.yaml:2:11: services[0].name: invalid name "a/b": use only letters, digits, '.', '_' and '-')"},
      {"services:\n  - name: a\n    address: 0.0.0.0\n    port: 1\n",
       R"(m.yaml:3:14: services[0].address: "0.0.0.0" is a wildcard listen address, not one clients can dial; use a concrete address)"},
      {"services:\n  - name: a\n    address: \"[::1]\"\n    port: 1\n",
       R"(m.yaml:3:14: services[0].address: write IPv6 addresses without brackets ("::1"))"},
      {"services:\n  - name: a\n    address: 300.1.1.1\n    port: 1\n",
       R"(m.yaml:3:14: services[0].address: "300.1.1.1" is not a valid IPv4 address)"},
      {kService + "    id: a/1\n",
       R"(m.yaml:5:9: services[0].id: invalid id "a/1": no '/', whitespace or control characters)"},
      {kService + "    id: x\n  - name: b\n    address: h\n    port: 2\n    id: x\n",
       R"(m.yaml:9:9: services[1].id: duplicate id "x" (also used by services[0] at line 2))"},
      {kService + "  - {name: a, address: h, port: 1}\n",
       R"(m.yaml:5:5: services[1].id: duplicate id "a-h-1" (also used by services[0] at line 2); set distinct ids)"},
      {"registry:\n  etcd: {format: gokit}\n" + kService +
           "  - {name: a, address: h, port: 1, id: other}\n",
       R"(m.yaml:7:5: services[1]: same name and address "a h:1" as services[0] at line 4; the gokit format would give both the same key)"},
      // ---- interpolation
      {"drain: ${DRAIN}\n",
       "m.yaml:1:8: drain: environment variable DRAIN is not set (use ${DRAIN:-default} for a "
       "fallback)"},
      {"drain: ${DRAIN:-${X}}\n",
       R"(m.yaml:1:8: drain: nested braces in "${DRAIN:-${X}" are not supported)"},
      {"drain: $DRAIN\n",
       "m.yaml:1:8: drain: a '$' must start ${VAR} or ${VAR:-default} (write $$ for a literal $)"},
      {"services:\n  - name: a\n    address: h\n    port: ${P}\n",
       R"(m.yaml:4:11: services[0].port: expected an integer, got "abc" (from "${P}"))"},
      // ---- invalid UTF-8: refused wherever a string is taken, never echoed raw (\xE9)
      {kService + "    meta: {k: \"caf\xe9\"}\n",
       "m.yaml:5:15: services[0].meta.k: value is not valid UTF-8"},
      {kService + "    meta: {\"caf\xe9\": x}\n",
       R"(m.yaml:5:12: services[0].meta: keys must be valid UTF-8, got "caf\xE9")"},
      {kService + "    tags: [ok, \"v\xff\"]\n",
       "m.yaml:5:16: services[0].tags[1]: value is not valid UTF-8"},
      {kService + "    id: \"a\xc0\xaf\"\n",  // overlong '/'
       "m.yaml:5:9: services[0].id: value is not valid UTF-8"},
      {kService + "    meta: {k: \"${BAD}\"}\n",
       R"(m.yaml:5:15: services[0].meta.k: value is not valid UTF-8 (from "${BAD}"))"},
      {kService + "    id: x-${BAD:-y}\n",
       R"(m.yaml:5:9: services[0].id: value is not valid UTF-8 (from "x-${BAD:-y}"))"},
      {"services:\n  - name: \"caf\xc3\"\n    address: h\n    port: 1\n",  // truncated
       "m.yaml:2:11: services[0].name: value is not valid UTF-8"},
      {"services:\n  - name: a\n    address: \"h\xe9\"\n    port: 1\n",
       "m.yaml:3:14: services[0].address: value is not valid UTF-8"},
      {"services:\n  - name: a\n    address: h\n    port: \"1\xe9\"\n",
       "m.yaml:4:11: services[0].port: value is not valid UTF-8"},
      {kService + "    probe: {target: \"h\xed\xa0\x80:1\"}\n",  // surrogate U+D800
       "m.yaml:5:21: services[0].probe.target: value is not valid UTF-8"},
      {kService + "    probe: {service: \"s\xf4\x90\x80\x80\"}\n",  // U+110000
       "m.yaml:5:22: services[0].probe.service: value is not valid UTF-8"},
      {"registry:\n  etcd:\n    prefix: \"/s\xf0\x80\x80\x80\"\n",  // overlong NUL
       "m.yaml:3:13: registry.etcd.prefix: value is not valid UTF-8"},
      {"registry:\n  etcd:\n    endpoints: [a:1, \"\xe9:2\"]\n",
       "m.yaml:3:22: registry.etcd.endpoints[1]: value is not valid UTF-8"},
      {"registry:\n  etcd:\n    endpoints: \"${BAD}:2379\"\n",
       R"(m.yaml:3:16: registry.etcd.endpoints: value is not valid UTF-8 (from "${BAD}:2379"))"},
      {"drain: \"1s\x80\"\n", "m.yaml:1:8: drain: value is not valid UTF-8"},
      // other messages that quote raw bytes escape them
      {"caf\xe9: 1\n",
       R"(m.yaml:1:1: caf\xE9: unknown key "caf\xE9" (allowed: registry, defaults, services, drain, shutdown_timeout, status))"},
      {"drain: \"${A\xe9}\"\n",
       R"(m.yaml:1:8: drain: invalid variable reference "${A\xE9}" (use ${VAR} or ${VAR:-default}; VAR is letters, digits and '_'))"},
      {kService + "    meta: {\"caf\xe9\": {a: b}}\n",
       R"(m.yaml:5:12: services[0].meta: keys must be valid UTF-8, got "caf\xE9")"},
      // ---- document level
      {"services: [\n", "m.yaml:2:1: invalid YAML: end of sequence flow not found"},
      {"drain: 1s\n---\ndrain: 2s\n",
       "m.yaml:2:1: multiple YAML documents are not supported; use one per file"},
      // yaml-cpp 0.7's LoadAll never returns on these (tests/fuzz/README.md)
      {",", "m.yaml:1:1: invalid YAML: unexpected ','"},
      {"drain: 1s\n,\n", "m.yaml:2:1: invalid YAML: end of map not found"},
      {"", "m.yaml: the manifest is empty"},
      {"# nothing here\n\n", "m.yaml: the manifest is empty"},
      {"- a\n",
       "m.yaml:1:1: the manifest must be a map with keys registry, defaults and services, got a "
       "list"},
  };
  return table;
}

}  // namespace

TEST_CASE("bad manifests are refused with one exact line each") {
  REQUIRE(rows().size() >= 30);
  auto env = env_of({{"P", "abc"}, {"T", "1h"}, {"BAD", "caf\xe9"}});
  for (const Row& row : rows()) {
    INFO("manifest:\n" << row.yaml);
    CHECK(error_of(row.yaml, env) == row.error);
  }
}

TEST_CASE("ConfigError carries the location and the field") {
  try {
    registrar::config::parse_manifest("services:\n  - name: a\n    address: h\n    port: 70000\n",
                                      "/etc/grpc-registrar/services.yaml", env_of({}));
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(e.where.file == "/etc/grpc-registrar/services.yaml");
    CHECK(e.where.line == 4);
    CHECK(e.where.column == 11);
    CHECK(e.field == "services[0].port");
    CHECK(std::string(e.what()) ==
          "/etc/grpc-registrar/services.yaml:4:11: services[0].port: 70000 is out of range "
          "(1-65535)");
  }
  CHECK(kExitConfig == 78);
}
