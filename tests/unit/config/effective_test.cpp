// render_effective: the effective configuration printed by `grpc-registrar check`.
#include "config/effective.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "config/manifest_parser.hpp"
#include "test_env.hpp"

using namespace registrar::config;
using registrar::config::test::env_of;
using registrar::config::test::parse;

namespace {

void check_same_config(const Manifest& a, const Manifest& b) {
  CHECK(a.registry.kind == b.registry.kind);
  CHECK(a.registry.etcd.endpoints == b.registry.etcd.endpoints);
  CHECK(a.registry.etcd.prefix == b.registry.etcd.prefix);
  CHECK(a.registry.etcd.format == b.registry.etcd.format);
  CHECK(a.registry.etcd.lease_ttl == b.registry.etcd.lease_ttl);
  CHECK(a.registry.etcd.dial_timeout == b.registry.etcd.dial_timeout);
  CHECK(a.registry.etcd.resync_interval == b.registry.etcd.resync_interval);
  CHECK(a.registry.etcd.keepalive_time == b.registry.etcd.keepalive_time);
  CHECK(a.registry.etcd.keepalive_timeout == b.registry.etcd.keepalive_timeout);
  CHECK(a.registry.backoff.initial == b.registry.backoff.initial);
  CHECK(a.registry.backoff.max == b.registry.backoff.max);
  CHECK(a.registry.backoff.multiplier == b.registry.backoff.multiplier);
  CHECK(a.registry.backoff.jitter == b.registry.backoff.jitter);
  CHECK(a.default_probe.mode == b.default_probe.mode);
  CHECK(a.default_probe.interval == b.default_probe.interval);
  CHECK(a.default_probe.timeout == b.default_probe.timeout);
  CHECK(a.default_probe.liveness_interval == b.default_probe.liveness_interval);
  CHECK(a.default_probe.rise == b.default_probe.rise);
  CHECK(a.default_probe.fall == b.default_probe.fall);
  CHECK(a.default_probe.transparent_retry == b.default_probe.transparent_retry);
  CHECK(a.drain == b.drain);
  CHECK(a.shutdown_timeout == b.shutdown_timeout);
  CHECK(a.services == b.services);
}

}  // namespace

TEST_CASE("render_effective writes every default") {
  Manifest m = parse("services:\n  - {name: hello, address: 127.0.0.1, port: 50051}\n");
  CHECK(render_effective(m) == R"(# effective configuration of m.yaml, defaults filled in
registry:
  kind: etcd
  etcd:
    endpoints: [127.0.0.1:2379]
    prefix: /services
    format: json
    lease_ttl: 10s
    dial_timeout: 3s
    resync_interval: 30s
    keepalive_time: 10s
    keepalive_timeout: 3s
  backoff:
    initial: 1s
    max: 30s
    multiplier: 1.6
    jitter: 0.2
defaults:
  probe:
    mode: watch
    interval: 1s
    timeout: 1s
    liveness_interval: 10s
    rise: 1
    fall: 1
    transparent_retry: true
services:
  - name: hello
    id: hello-127.0.0.1-50051
    address: 127.0.0.1
    port: 50051
    tags: []
    meta: {}
    probe:
      mode: watch
      interval: 1s
      timeout: 1s
      liveness_interval: 10s
      rise: 1
      fall: 1
      target: 127.0.0.1:50051
      service: ""
      transparent_retry: true
drain: 0s
shutdown_timeout: 5s
)");
}

TEST_CASE("render_effective round-trips: parse(render(m)) == m") {
  auto env = env_of({{"PORT", "7001"}});
  Manifest m = parse(R"(registry:
  etcd:
    endpoints: ["http://10.0.0.1:2379", "[fd00::1]:2379"]
    prefix: /a/b/
    format: grpc-go
    lease_ttl: 1m
    dial_timeout: 1s500ms
    resync_interval: 0
    keepalive_time: 7s
    keepalive_timeout: 2s500ms
  backoff: {initial: 100ms, max: 1h, multiplier: 1.25, jitter: 0.05}
defaults:
  probe: {mode: poll, interval: 250ms, timeout: 2s, rise: 3, fall: 2, liveness_interval: 1m,
          transparent_retry: false}
services:
  - name: hello
    address: 127.0.0.1
    port: ${PORT}
    tags: [v1, "null", "~", "true", "$$HOME", " lead", "a: b", "#x", "", "ünïcode", "[x]"]
    meta: {zone: a, "k:1": "a: b", empty: "", dollar: "$${X}", "yes": "no", quote: "\"q'"}
    probe: {mode: watch, target: "dns:///hello.internal:443", service: "pkg.Svc", liveness_interval: 1s500ms}
  - {name: v6, address: "::1", port: 2, id: "v6:custom@1"}
  - {name: host, address: svc.example.com., port: 65535, probe: {rise: 7}}
drain: 59m3s4ms
shutdown_timeout: 45s
)",
                     env);
  REQUIRE(m.services.size() == 3);
  std::string text = render_effective(m);
  INFO(text);
  // Rendered values are escaped, so nothing is looked up in the environment again.
  Manifest back = parse_manifest(text, "rendered.yaml", env_of({}));
  check_same_config(m, back);
  // and rendering is stable
  back.source = m.source;
  CHECK(render_effective(back) == text);
}
