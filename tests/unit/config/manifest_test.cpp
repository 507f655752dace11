// Manifests that parse, and what they parse to.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "config/effective.hpp"
#include "config/etcd_keepalive.hpp"
#include "config/manifest_parser.hpp"
#include "test_env.hpp"

using namespace registrar::config;
using registrar::config::test::env_of;
using registrar::config::test::error_of;
using registrar::config::test::parse;
using ms = std::chrono::milliseconds;

TEST_CASE("a manifest with every key") {
  const std::string yaml = R"(registry:
  kind: etcd
  etcd:
    endpoints: [10.0.0.1:2379, "http://etcd-2.internal:2379/", "[fd00::3]:2379"]
    prefix: /prod/services/
    format: gokit
    lease_ttl: 15s
    dial_timeout: 500ms
    resync_interval: 0
  backoff: {initial: 200ms, max: 1m, multiplier: 2, jitter: 0}
defaults:
  probe: {mode: poll, interval: 2s, timeout: 750ms, rise: 2, fall: 3}
services:
  - name: hello
    id: hello-1
    address: 127.0.0.1
    port: 50051
    tags: [v1, blue]
    meta: {zone: a, weight: 10}
    probe:
      mode: watch
      interval: 5s
      timeout: 2s
      rise: 4
      fall: 5
      target: 127.0.0.1:50052
      service: helloworld.Greeter
drain: 2s
shutdown_timeout: 10s
)";
  Manifest m = parse(yaml);
  CHECK(m.source == "m.yaml");
  CHECK(m.registry.kind == RegistryKind::Etcd);
  const EtcdSpec& e = m.registry.etcd;
  CHECK(e.endpoints ==
        std::vector<std::string>{"10.0.0.1:2379", "etcd-2.internal:2379", "[fd00::3]:2379"});
  CHECK(e.prefix == "/prod/services");
  CHECK(e.format == EtcdKeyFormat::GoKit);
  CHECK(e.lease_ttl == ms{15000});
  CHECK(e.dial_timeout == ms{500});
  CHECK(e.resync_interval == ms{0});
  const BackoffSpec& b = m.registry.backoff;
  CHECK(b.initial == ms{200});
  CHECK(b.max == ms{60000});
  CHECK(b.multiplier == 2.0);
  CHECK(b.jitter == 0.0);
  CHECK(m.default_probe.mode == ProbeMode::Poll);
  CHECK(m.default_probe.interval == ms{2000});
  CHECK(m.default_probe.timeout == ms{750});
  CHECK(m.default_probe.rise == 2);
  CHECK(m.default_probe.fall == 3);
  REQUIRE(m.services.size() == 1);
  const ServiceSpec& s = m.services[0];
  CHECK(s.name == "hello");
  CHECK(s.id == "hello-1");
  CHECK(s.address == "127.0.0.1");
  CHECK(s.port == 50051);
  CHECK(s.tags == std::vector<std::string>{"v1", "blue"});
  CHECK(s.meta == std::map<std::string, std::string>{{"zone", "a"}, {"weight", "10"}});
  CHECK(s.probe.mode == ProbeMode::Watch);
  CHECK(s.probe.interval == ms{5000});
  CHECK(s.probe.timeout == ms{2000});
  CHECK(s.probe.rise == 4);
  CHECK(s.probe.fall == 5);
  CHECK(s.probe.target == "127.0.0.1:50052");
  CHECK(s.probe.service == "helloworld.Greeter");
  CHECK(s.location.file == "m.yaml");
  CHECK(s.location.line == 14);
  CHECK(s.location.column == 5);
  CHECK(m.drain == ms{2000});
  CHECK(m.shutdown_timeout == ms{10000});
}

TEST_CASE("everything left out takes the struct defaults") {
  Manifest m = parse("services:\n  - {name: hello, address: localhost, port: 9000}\n");
  const Manifest d;
  CHECK(m.registry.kind == d.registry.kind);
  CHECK(m.registry.etcd.endpoints == std::vector<std::string>{"127.0.0.1:2379"});
  CHECK(m.registry.etcd.prefix == "/services");
  CHECK(m.registry.etcd.format == EtcdKeyFormat::Json);
  CHECK(m.registry.etcd.lease_ttl == ms{10000});
  CHECK(m.registry.etcd.dial_timeout == ms{3000});
  CHECK(m.registry.etcd.resync_interval == ms{30000});
  CHECK(m.registry.etcd.keepalive_time == ms{10000});
  CHECK(keepalive_timeout_of(m.registry.etcd) == ms{3000});  // dial_timeout's
  CHECK(m.registry.backoff.initial == ms{1000});
  CHECK(m.registry.backoff.max == ms{30000});
  CHECK(m.registry.backoff.multiplier == 1.6);
  CHECK(m.registry.backoff.jitter == 0.2);
  CHECK(m.default_probe.mode == ProbeMode::Watch);
  CHECK(m.default_probe.interval == ms{1000});
  CHECK(m.default_probe.timeout == ms{1000});
  CHECK(m.default_probe.liveness_interval == ms{10000});
  CHECK(m.default_probe.rise == 1);
  CHECK(m.default_probe.fall == 1);
  CHECK(m.drain == ms{0});
  CHECK(m.shutdown_timeout == ms{5000});
  REQUIRE(m.services.size() == 1);
  const ServiceSpec& s = m.services[0];
  CHECK(s.id == "hello-localhost-9000");
  CHECK(s.tags.empty());
  CHECK(s.meta.empty());
  CHECK(s.probe.mode == ProbeMode::Watch);
  CHECK(s.probe.interval == ms{1000});
  CHECK(s.probe.liveness_interval == ms{10000});
  CHECK(s.probe.target == "localhost:9000");
  CHECK(s.probe.service.empty());
  CHECK(s.location.line == 2);
  CHECK(s.location.column == 5);
}

TEST_CASE("service probes start from defaults.probe and override key by key") {
  Manifest m = parse(R"(defaults:
  probe: {mode: poll, interval: 3s, timeout: 2s, rise: 2, fall: 4}
services:
  - {name: a, address: h, port: 1}
  - name: b
    address: h
    port: 2
    probe: {fall: 9, service: b.v1.B}
)");
  REQUIRE(m.services.size() == 2);
  const ProbeSpec& a = m.services[0].probe;
  CHECK(a.mode == ProbeMode::Poll);
  CHECK(a.interval == ms{3000});
  CHECK(a.timeout == ms{2000});
  CHECK(a.rise == 2);
  CHECK(a.fall == 4);
  CHECK(a.service.empty());
  const ProbeSpec& b = m.services[1].probe;
  CHECK(b.mode == ProbeMode::Poll);
  CHECK(b.interval == ms{3000});
  CHECK(b.rise == 2);
  CHECK(b.fall == 9);
  CHECK(b.service == "b.v1.B");
  CHECK(b.target == "h:2");
}

TEST_CASE("minimal and empty manifests") {
  CHECK(parse("services: []\n").services.empty());
  CHECK(parse("services:\n").services.empty());
  CHECK(parse("drain: 0\n").drain == ms{0});
  // Empty sections (every child commented out) are empty maps, not errors.
  Manifest m = parse("registry:\n  etcd:\n    # prefix: /x\ndefaults:\n  probe:\nservices: []\n");
  CHECK(m.registry.etcd.prefix == "/services");
  CHECK(m.default_probe.rise == 1);
}

TEST_CASE("default ids and probe targets") {
  CHECK(default_service_id("hello", "127.0.0.1", 50051) == "hello-127.0.0.1-50051");
  CHECK(default_service_id("hello", "svc.example.com", 80) == "hello-svc.example.com-80");
  CHECK(default_service_id("hello", "::1", 50051) == "hello---1-50051");
  CHECK(default_service_id("hello", "fe80::1%eth0", 7) == "hello-fe80--1-eth0-7");
  CHECK(default_service_id("my_svc", "a_b", 1) == "my_svc-a_b-1");
  CHECK(default_probe_target("127.0.0.1", 50051) == "127.0.0.1:50051");
  CHECK(default_probe_target("localhost", 8080) == "localhost:8080");
  CHECK(default_probe_target("::1", 50051) == "[::1]:50051");
  CHECK(default_probe_target("2001:db8::7", 443) == "[2001:db8::7]:443");
}

TEST_CASE("IPv6 service addresses") {
  Manifest m = parse(R"(services:
  - {name: v6, address: "::1", port: 50051}
  - {name: v6b, address: "2001:db8::42", port: 8443, probe: {target: "[::1]:9000"}}
)");
  REQUIRE(m.services.size() == 2);
  CHECK(m.services[0].address == "::1");
  CHECK(m.services[0].id == "v6---1-50051");
  CHECK(m.services[0].probe.target == "[::1]:50051");
  CHECK(m.services[1].address == "2001:db8::42");
  CHECK(m.services[1].id == "v6b-2001-db8--42-8443");
  CHECK(m.services[1].probe.target == "[::1]:9000");
  CHECK(error_of("services:\n  - {name: a, address: \"::g\", port: 1}\n") ==
        R"(m.yaml:2:24: services[0].address: "::g" is not a valid IPv6 address)");
  CHECK(error_of("services:\n  - {name: a, address: \"::\", port: 1}\n") ==
        "m.yaml:2:24: services[0].address: \"::\" is a wildcard listen address, not one clients "
        "can dial; use a concrete address");
}

TEST_CASE("hostnames are checked") {
  CHECK(parse("services:\n  - {name: a, address: etcd-0.etcd.default.svc., port: 1}\n")
            .services[0]
            .address == "etcd-0.etcd.default.svc.");
  CHECK(
      error_of("services:\n  - {name: a, address: bad..host, port: 1}\n") ==
      R"(m.yaml:2:24: services[0].address: "bad..host" is not a valid hostname, IPv4 or IPv6 address)");
  CHECK(error_of("services:\n  - {name: a, address: \"a b\", port: 1}\n") ==
        R"(m.yaml:2:24: services[0].address: "a b" is not a valid hostname, IPv4 or IPv6 address)");
}

TEST_CASE("etcd endpoint forms") {
  auto endpoints = [](const std::string& value) {
    return parse("registry:\n  etcd:\n    endpoints: " + value + "\n").registry.etcd.endpoints;
  };
  using V = std::vector<std::string>;
  CHECK(endpoints("[127.0.0.1:2379]") == V{"127.0.0.1:2379"});
  CHECK(endpoints("127.0.0.1:2379") == V{"127.0.0.1:2379"});  // a single string
  CHECK(endpoints("http://etcd:2379") == V{"etcd:2379"});     // scheme stripped
  CHECK(endpoints("HTTP://etcd:2379/") == V{"etcd:2379"});    // and one trailing '/'
  CHECK(endpoints("\"[::1]:2379\"") == V{"[::1]:2379"});
  CHECK(endpoints("[a:1, http://b:2, \"[fd00::1]:3\"]") == V{"a:1", "b:2", "[fd00::1]:3"});
  CHECK(endpoints("\"a:1, b:2,c:3\"") == V{"a:1", "b:2", "c:3"});  // comma-separated string
  CHECK(
      error_of("registry:\n  etcd:\n    endpoints: [\"ftp://e:1\"]\n") ==
      R"(m.yaml:3:17: registry.etcd.endpoints[0]: unsupported scheme "ftp://" (use host:port or http://host:port))");
  CHECK(error_of("registry:\n  etcd:\n    endpoints: [e:0]\n") ==
        R"(m.yaml:3:17: registry.etcd.endpoints[0]: "e:0" has an invalid port "0" (1-65535))");
  CHECK(
      error_of("registry:\n  etcd:\n    endpoints: [http://e:1/v3]\n") ==
      R"(m.yaml:3:17: registry.etcd.endpoints[0]: "http://e:1/v3" has a path; expected host:port)");
  CHECK(error_of("registry:\n  etcd:\n    endpoints: \"[::1:2379\"\n") ==
        R"(m.yaml:3:16: registry.etcd.endpoints: "[::1:2379" has an unterminated '[')");
  CHECK(error_of("registry:\n  etcd:\n    endpoints: \" , \"\n") ==
        "m.yaml:3:16: registry.etcd.endpoints: at least one endpoint is required");
}

TEST_CASE("etcd prefix normalisation") {
  auto prefix = [](const std::string& value) {
    return parse("registry:\n  etcd:\n    prefix: " + value + "\n").registry.etcd.prefix;
  };
  CHECK(prefix("/services") == "/services");
  CHECK(prefix("/services/") == "/services");
  CHECK(prefix("/a/b") == "/a/b");
  CHECK(error_of("registry:\n  etcd:\n    prefix: /a//\n") ==
        R"(m.yaml:3:13: registry.etcd.prefix: must not contain empty path segments, got "/a//")");
  CHECK(error_of("registry:\n  etcd:\n    prefix: /a//b\n") ==
        R"(m.yaml:3:13: registry.etcd.prefix: must not contain empty path segments, got "/a//b")");
}

TEST_CASE("etcd key formats") {
  auto format = [](const std::string& value) {
    return parse("registry:\n  etcd:\n    format: " + value + "\n").registry.etcd.format;
  };
  CHECK(format("json") == EtcdKeyFormat::Json);
  CHECK(format("gokit") == EtcdKeyFormat::GoKit);
  CHECK(format("grpc-go") == EtcdKeyFormat::GrpcGo);
  CHECK(
      error_of("registry:\n  etcd:\n    format: JSON\n") ==
      R"(m.yaml:3:13: registry.etcd.format: invalid value "JSON" (allowed: json, gokit, grpc-go); did you mean "json"?)");
}

TEST_CASE("interpolation in a manifest") {
  auto env = env_of({{"ETCD", "http://10.1.1.1:2379"}, {"PORT", "6000"}, {"ZONE", "eu-1"}});
  Manifest m = parse(R"(registry:
  etcd:
    endpoints: ${ETCD}
    lease_ttl: ${TTL:-20s}
services:
  - name: svc
    address: ${ADDR:-127.0.0.1}
    port: ${PORT}
    tags: ["${ZONE}", "price$$"]
    meta: {zone: "${ZONE}", literal: "$${ZONE}"}
)",
                     env);
  CHECK(m.registry.etcd.endpoints == std::vector<std::string>{"10.1.1.1:2379"});
  CHECK(m.registry.etcd.lease_ttl == ms{20000});
  REQUIRE(m.services.size() == 1);
  CHECK(m.services[0].address == "127.0.0.1");
  CHECK(m.services[0].port == 6000);
  CHECK(m.services[0].id == "svc-127.0.0.1-6000");
  CHECK(m.services[0].tags == std::vector<std::string>{"eu-1", "price$"});
  CHECK(m.services[0].meta.at("zone") == "eu-1");
  CHECK(m.services[0].meta.at("literal") == "${ZONE}");
}

TEST_CASE("interpolated text is a value, never YAML") {
  // A variable holding YAML syntax stays one string: it cannot add keys or services.
  auto env = env_of({{"NAME", "x\n  - name: injected"}, {"TAGS", "[a, b]"}});
  CHECK(error_of("services:\n  - {name: \"${NAME}\", address: h, port: 1}\n", env) ==
        "m.yaml:2:12: services[0].name: invalid name \"x\\n  - name: injected\" (from "
        "\"${NAME}\"): use only letters, digits, '.', '_' and '-'");
  Manifest m = parse("services:\n  - {name: a, address: h, port: 1, tags: [\"${TAGS}\"]}\n", env);
  CHECK(m.services[0].tags == std::vector<std::string>{"[a, b]"});
}

TEST_CASE("keys are not interpolated") {
  CHECK(
      error_of("${X}: 1\n", env_of({{"X", "drain"}})) ==
      R"(m.yaml:1:1: ${X}: unknown key "${X}" (allowed: registry, defaults, services, drain, shutdown_timeout, status))");
}

TEST_CASE("quoted numbers and durations are accepted") {
  Manifest m = parse("drain: \"2s\"\nservices:\n  - {name: a, address: h, port: \"80\"}\n");
  CHECK(m.drain == ms{2000});
  CHECK(m.services[0].port == 80);
}

TEST_CASE("durations at the edges of their ranges are accepted") {
  Manifest lo = parse(R"(registry:
  etcd: {lease_ttl: 2s, dial_timeout: 10ms, resync_interval: 1s}
  backoff: {initial: 1ms, max: 1ms}
defaults:
  probe: {interval: 10ms, timeout: 10ms}
services:
  - {name: a, address: h, port: 1, probe: {interval: 10ms, timeout: 10ms}}
drain: 0
shutdown_timeout: 100ms
)");
  CHECK(lo.registry.etcd.lease_ttl == ms{2000});
  CHECK(lo.registry.etcd.dial_timeout == ms{10});
  CHECK(lo.registry.etcd.resync_interval == ms{1000});
  CHECK(lo.registry.backoff.initial == ms{1});
  CHECK(lo.registry.backoff.max == ms{1});
  CHECK(lo.default_probe.interval == ms{10});
  CHECK(lo.default_probe.timeout == ms{10});
  CHECK(lo.services[0].probe.interval == ms{10});
  CHECK(lo.services[0].probe.timeout == ms{10});
  CHECK(lo.drain == ms{0});
  CHECK(lo.shutdown_timeout == ms{100});

  Manifest hi = parse(R"(registry:
  etcd: {lease_ttl: 24h, dial_timeout: 10m, resync_interval: 24h}
  backoff: {initial: 1h, max: 60m}
defaults:
  probe: {interval: 1h, timeout: 3600s}
services:
  - {name: a, address: h, port: 1, probe: {interval: 60m, timeout: 3600000ms}}
drain: 1h
shutdown_timeout: 10m
)");
  CHECK(hi.registry.etcd.lease_ttl == ms{86400000});
  CHECK(hi.registry.etcd.dial_timeout == ms{600000});
  CHECK(hi.registry.etcd.resync_interval == ms{86400000});
  CHECK(hi.registry.backoff.initial == ms{3600000});
  CHECK(hi.registry.backoff.max == ms{3600000});
  CHECK(hi.default_probe.interval == ms{3600000});
  CHECK(hi.default_probe.timeout == ms{3600000});
  CHECK(hi.services[0].probe.interval == ms{3600000});
  CHECK(hi.services[0].probe.timeout == ms{3600000});
  CHECK(hi.drain == ms{3600000});
  CHECK(hi.shutdown_timeout == ms{600000});

  // keepalive_timeout follows dial_timeout unless set, never under 1s (gRPC's TCP_USER_TIMEOUT)
  // nor over 1m; keepalive_time's least is etcd's default --grpc-keepalive-min-time
  CHECK(parse("registry:\n  etcd: {dial_timeout: 10ms}\n").registry.etcd.keepalive_timeout ==
        ms{1000});
  CHECK(parse("registry:\n  etcd: {dial_timeout: 2m}\n").registry.etcd.keepalive_timeout ==
        ms{60000});
  const Manifest ka =
      parse("registry:\n  etcd: {dial_timeout: 2m, keepalive_time: 5s, keepalive_timeout: 10m}\n");
  CHECK(ka.registry.etcd.keepalive_time == ms{5000});
  CHECK(ka.registry.etcd.keepalive_timeout == ms{600000});
  CHECK(parse("registry:\n  etcd: {keepalive_time: 2h, keepalive_timeout: 1s}\n")
            .registry.etcd.keepalive_time == ms{7200000});
  // resync_interval 0 turns resyncing off
  CHECK(parse("registry:\n  etcd: {resync_interval: 0s}\n").registry.etcd.resync_interval == ms{0});
}

TEST_CASE("valid UTF-8 is accepted in every string") {
  auto env = env_of({{"CITY",
                      "K\xc3\xb8"
                      "benhavn"}});
  Manifest m = parse(
      "services:\n"
      "  - name: a\n"
      "    id: \"caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x98\x80\"\n"
      "    address: h\n"
      "    port: 1\n"
      "    tags: [\"\xc3\xbcn\xc3\xaf"
      "code\", \"\xef\xbf\xbf\", \"\xf4\x8f\xbf\xbf\"]\n"
      "    meta: {\"cl\xc3\xa9\": \"${CITY}\", esc: \"caf\\xe9\"}\n"
      "    probe: {service: \"\xed\x9f\xbf\"}\n",
      env);
  const ServiceSpec& s = m.services[0];
  CHECK(s.id == "caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x98\x80");  // é, €, U+1F600
  CHECK(s.tags == std::vector<std::string>{"\xc3\xbcn\xc3\xaf"
                                           "code",
                                           "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf"});
  CHECK(s.meta.at("cl\xc3\xa9") ==
        "K\xc3\xb8"
        "benhavn");
  CHECK(s.meta.at("esc") == "caf\xc3\xa9");  // a YAML escape: U+00E9, written as UTF-8
  CHECK(s.probe.service == "\xed\x9f\xbf");  // U+D7FF, just below the surrogates
}

TEST_CASE("ids may be chosen freely but must be unique") {
  Manifest m = parse(R"(services:
  - {name: a, address: h, port: 1, id: "a:1@h"}
  - {name: a, address: h, port: 1, id: "a:2@h"}
)");
  CHECK(m.services[0].id == "a:1@h");
  CHECK(m.services[1].id == "a:2@h");
  // an explicit id that collides with another service's default id
  CHECK(error_of(R"(services:
  - {name: a, address: h, port: 1}
  - {name: b, address: h, port: 2, id: a-h-1}
)") == R"(m.yaml:3:40: services[1].id: duplicate id "a-h-1" (also used by services[0] at line 2))");
}

TEST_CASE("probe.transparent_retry: on by default, set in defaults, overridden per service") {
  Manifest m = parse(R"(services:
  - {name: a, address: h, port: 1}
)");
  CHECK(m.default_probe.transparent_retry);
  CHECK(m.services[0].probe.transparent_retry);

  m = parse(R"(defaults:
  probe: {transparent_retry: false}
services:
  - {name: a, address: h, port: 1}
  - {name: b, address: h, port: 2, probe: {transparent_retry: true}}
)");
  CHECK_FALSE(m.default_probe.transparent_retry);
  CHECK_FALSE(m.services[0].probe.transparent_retry);
  CHECK(m.services[1].probe.transparent_retry);
  // A change of it is a change of the probe (a reload restarts that prober).
  ServiceSpec flipped = m.services[0];
  flipped.probe.transparent_retry = true;
  CHECK_FALSE(flipped == m.services[0]);
  CHECK(error_of("services:\n  - {name: a, address: h, port: 1, probe: {transparent_retry: 2}}\n")
            .find("services[0].probe.transparent_retry") != std::string::npos);
}

TEST_CASE("probe.liveness_interval: in defaults and per service, key by key") {
  Manifest m = parse(R"(defaults:
  probe: {interval: 2s, liveness_interval: 30s}
services:
  - {name: a, address: h, port: 1}
  - {name: b, address: h, port: 2, probe: {liveness_interval: 2s}}
  - {name: c, address: h, port: 3, probe: {interval: 500ms}}
)");
  CHECK(m.default_probe.liveness_interval == ms{30000});
  REQUIRE(m.services.size() == 3);
  CHECK(m.services[0].probe.liveness_interval == ms{30000});
  CHECK(m.services[1].probe.liveness_interval == ms{2000});  // today's behaviour: one per interval
  CHECK(m.services[2].probe.liveness_interval == ms{30000});
  // Its range is the other probe durations'.
  CHECK(parse("defaults:\n  probe: {liveness_interval: 10ms}\n").default_probe.liveness_interval ==
        ms{10});
  CHECK(parse("defaults:\n  probe: {liveness_interval: 1h}\n").default_probe.liveness_interval ==
        ms{3600000});
  // A changed liveness interval is a changed probe (a reload makes a new prober).
  Manifest other = parse(R"(defaults:
  probe: {interval: 2s, liveness_interval: 20s}
services:
  - {name: a, address: h, port: 1}
)");
  CHECK_FALSE(other.services[0] == m.services[0]);
}
