#include "conformance/etcd_backend.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "conformance/instancer_read.hpp"
#include "support/paths.hpp"
#include "support/require.hpp"

namespace registrar::conformance {

namespace {

using namespace std::chrono_literals;

constexpr const char* kPrefix = "/conformance";
constexpr const char* kEtcdOwner = "conformance-etcd";
// docs/operations.md, "Reconnect delay": the channel's state is looked at every 200 ms and gRPC
// retries the connection at least every second.
constexpr Millis kReconnectDelay{1200};

// An instance from its key's json value.
std::pair<std::string, Seen> parse_entry(const std::string& value) {
  const auto v = nlohmann::json::parse(value);
  Seen s;
  s.name = v.at("name").get<std::string>();
  s.address = v.at("address").get<std::string>();
  s.port = v.at("port").get<std::uint16_t>();
  s.tags = v.at("tags").get<std::vector<std::string>>();
  s.meta = v.at("meta").get<std::map<std::string, std::string>>();
  s.healthy = true;  // listed = routable
  return {v.at("id").get<std::string>(), s};
}

std::string id_of(const test::KeyValue& kv) {
  return parse_entry(kv.value).first;
}

}  // namespace

bool EtcdBackend::available() {
  return test::need(test::etcd_bin_found().has_value(), "etcd not found at " + test::etcd_bin() +
                                                            " (apt-get install etcd-server, or "
                                                            "$REGISTRAR_TEST_ETCD_BIN)");
}

EtcdBackend::EtcdBackend() : etcd_(true) {}

config::RegistrySpec EtcdBackend::spec() const {
  config::RegistrySpec spec;
  spec.kind = config::RegistryKind::Etcd;
  spec.etcd.endpoints = {etcd_.endpoint()};
  spec.etcd.prefix = kPrefix;
  spec.etcd.format = config::EtcdKeyFormat::Json;
  spec.etcd.owner = kEtcdOwner;
  // 5 s: keepalives every 500 ms, with room for a slow one on a loaded machine (a lease presumed
  // lost would rewrite everything and spoil the write counts).
  spec.etcd.lease_ttl = 5s;
  spec.etcd.dial_timeout = 1s;
  spec.etcd.resync_interval = 1s;  // the shortest a manifest allows
  spec.backoff.initial = 50ms;
  spec.backoff.max = 400ms;
  return spec;
}

EtcdBackend::Snapshot EtcdBackend::snapshot() const {
  // One read: the header's revision and the keys at that revision.
  const auto doc = nlohmann::json::parse(
      etcd_.ctl().run({"get", "--prefix", "-w", "json", "--", std::string(kPrefix) + "/"}));
  Snapshot s;
  s.revision = doc.at("header").at("revision").get<std::int64_t>();
  if (!doc.contains("kvs")) return s;
  for (const auto& kv : doc.at("kvs")) {
    test::KeyValue k;
    k.key = test::base64_decode(kv.at("key").get<std::string>());
    k.value = test::base64_decode(kv.value("value", std::string()));
    k.mod_revision = kv.value("mod_revision", std::int64_t{0});
    s.kvs.push_back(std::move(k));
  }
  return s;
}

std::optional<View> EtcdBackend::read() {
  // What clients see is what the product's own reader (discovery/) lists, name by name. etcdctl's
  // strict reading of every key under the prefix stays: it checks the json shape to the field
  // (a value the reader would take but that lacks one of them fails), finds the names, and must
  // agree with the reader.
  View strict;
  try {
    for (const auto& kv : snapshot().kvs) strict.insert(parse_entry(kv.value));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::set<std::string> names;
  for (const auto& [id, seen] : strict) names.insert(seen.name);
  View view;
  for (const auto& name : names) {
    const auto set = instancer_read(spec(), name, /*healthy_only=*/false);
    if (!set) return std::nullopt;
    for (const auto& [id, instance] : *set) view.emplace(id, seen_of(instance));
  }
  if (view != strict) {
    std::fprintf(stderr, "conformance etcd: the reader and etcdctl disagree (%zu vs %zu entries)\n",
                 view.size(), strict.size());
    return std::nullopt;
  }
  return view;
}

Mark EtcdBackend::mark() {
  const Snapshot s = snapshot();
  Mark m;
  m.position = static_cast<std::uint64_t>(s.revision);
  for (const auto& kv : s.kvs) m.versions[id_of(kv)] = std::to_string(kv.mod_revision);
  return m;
}

Writes EtcdBackend::writes_since(const Mark& mark) {
  const Snapshot s = snapshot();
  Writes w;
  w.total = static_cast<std::size_t>(s.revision) - static_cast<std::size_t>(mark.position);
  std::map<std::string, std::string> now;
  for (const auto& kv : s.kvs) now[id_of(kv)] = std::to_string(kv.mod_revision);
  std::set<std::string> ids;
  for (const auto& [id, v] : now) ids.insert(id);
  for (const auto& [id, v] : mark.versions) ids.insert(id);
  for (const auto& id : ids) {
    const auto a = mark.versions.find(id);
    const auto b = now.find(id);
    const bool same = a != mark.versions.end() && b != now.end() && a->second == b->second;
    if (!same) w.per_entry[id] = 1;  // put (new mod_revision), created or deleted
  }
  return w;
}

bool EtcdBackend::nothing_left() {
  const auto ctl = etcd_.ctl();
  return ctl.get_prefix(std::string(kPrefix) + "/").empty() &&
         !ctl.get(std::string("/grpc-registrar/owners/") + kEtcdOwner).has_value() &&
         ctl.lease_list().empty();
}

void EtcdBackend::remove_from_outside(const registry::Registration& r) {
  const std::string key = std::string(kPrefix) + "/" + r.name + "/" + r.id;
  if (etcd_.ctl().del(key) != 1) throw std::runtime_error("etcdctl del " + key + ": no such key");
}

void EtcdBackend::lose_state() {
  etcd_.wipe_and_restart();
}

void EtcdBackend::take_down() {
  etcd_.kill9();
}

Millis EtcdBackend::state_loss_bound() const {
  // docs/operations.md, section 2, wiped: missing for at most min(c, B·(1+j)) + 4·rtt after
  // etcd answers; the lease is found unknown at the next keepalive, sent every TTL/3 (at most
  // every 500 ms).
  const auto s = spec();
  const auto step = Millis(static_cast<long>(s.backoff.max.count() * (1 + s.backoff.jitter)));
  const Millis keepalive = std::min<Millis>(s.etcd.lease_ttl / 3, 500ms);
  return std::min(kReconnectDelay, step) + keepalive + kLoadSlack;
}

Millis EtcdBackend::outside_removal_bound() const {
  // The next verify (every resync_interval) finds the key missing and writes it again.
  return spec().etcd.resync_interval + kLoadSlack;
}

Millis EtcdBackend::quiet_period() const {
  const auto s = spec();
  return 2 * s.etcd.resync_interval + std::min<Millis>(s.etcd.lease_ttl / 3, 500ms);
}

}  // namespace registrar::conformance
