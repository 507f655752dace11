// The `registry` section: which backend, each backend's section, and the retry backoff all
// backends share.
#include <array>
#include <chrono>
#include <string_view>

#include "config/duration.hpp"
#include "config/manifest_sections.hpp"

namespace registrar::config {
namespace {

using namespace std::chrono_literals;

constexpr std::array<std::string_view, 7> kRegistryKeys{"kind",  "etcd",    "consul",   "eureka",
                                                        "nacos", "backoff", "zookeeper"};
constexpr std::array<std::string_view, 4> kBackoffKeys{"initial", "max", "multiplier", "jitter"};

constexpr DurationRange kBackoffRange{1ms, 1h};

}  // namespace

RegistrySpec read_registry(const Reader& r, const Value& v) {
  auto keys = r.fields(v, kRegistryKeys);
  RegistrySpec spec;
  auto kind = Reader::find(keys, "kind");
  if (kind) spec.kind = r.choice(*kind, kRegistryKindNames);
  if (auto e = Reader::find(keys, "etcd"))
    spec.etcd = read_etcd(r, *e, spec.kind == RegistryKind::Etcd);
  // Both sections may be present (the same manifest runs against either backend); each is
  // validated, and only the chosen one is used. The environment counts for Consul only.
  spec.consul =
      read_consul(r, Reader::find(keys, "consul"), kind, spec.kind == RegistryKind::Consul);
  if (auto z = Reader::find(keys, "zookeeper"))
    spec.zookeeper = read_zookeeper(r, *z, spec.kind == RegistryKind::ZooKeeper);
  if (auto e = Reader::find(keys, "eureka"))
    spec.eureka = read_eureka(r, *e, spec.kind == RegistryKind::Eureka);
  else if (spec.kind == RegistryKind::Eureka)
    spec.eureka = read_eureka(r, Value{YAML::Node(), "registry.eureka", kind->mark}, true);
  if (auto n = Reader::find(keys, "nacos"))
    spec.nacos = read_nacos(r, *n, spec.kind == RegistryKind::Nacos);
  if (auto b = Reader::find(keys, "backoff")) spec.backoff = read_backoff(r, *b);
  return spec;
}

BackoffSpec read_backoff(const Reader& r, const Value& v) {
  auto keys = r.fields(v, kBackoffKeys);
  BackoffSpec b;
  auto initial = Reader::find(keys, "initial");
  auto max = Reader::find(keys, "max");
  if (initial) b.initial = r.bounded_duration(*initial, kBackoffRange);
  if (max) b.max = r.bounded_duration(*max, kBackoffRange);
  if (auto m = Reader::find(keys, "multiplier")) {
    b.multiplier = r.number(*m);
    if (b.multiplier < 1) r.fail(*m, "must be at least 1, got " + r.text(*m));
  }
  if (auto j = Reader::find(keys, "jitter")) {
    b.jitter = r.number(*j);
    if (b.jitter < 0 || b.jitter > 1) r.fail(*j, "must be between 0 and 1, got " + r.text(*j));
  }
  if (b.max < b.initial) {
    std::string message = "max (" + format_duration(b.max) + ") must not be less than initial (" +
                          format_duration(b.initial) + ")";
    if (max) r.fail(*max, message);
    r.fail(*initial, message);
  }
  return b;
}

}  // namespace registrar::config
