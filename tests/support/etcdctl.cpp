#include "support/etcdctl.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace registrar::test {

#ifndef REGISTRAR_ETCDCTL_BIN
#define REGISTRAR_ETCDCTL_BIN "/usr/bin/etcdctl"
#endif

std::string etcdctl_bin() {
  return REGISTRAR_ETCDCTL_BIN;
}

std::string lease_hex(std::int64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(id));
  return buf;
}

std::string base64_decode(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = value(c);
    if (v < 0) throw std::runtime_error("base64_decode: bad character in '" + in + "'");
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFFu));
    }
  }
  return out;
}

Etcdctl::Etcdctl(std::string endpoints, Millis command_timeout)
    : endpoints_(std::move(endpoints)), command_timeout_(command_timeout) {}

CommandResult Etcdctl::run_raw(const std::vector<std::string>& args) const {
  const Millis dial = std::min<Millis>(command_timeout_, 1s);
  std::vector<std::string> full{
      "--endpoints=" + endpoints_, "--dial-timeout=" + std::to_string(dial.count()) + "ms",
      "--command-timeout=" + std::to_string(command_timeout_.count()) + "ms"};
  full.insert(full.end(), args.begin(), args.end());
  return run_command(etcdctl_bin(), full, command_timeout_ + 5s, {{"ETCDCTL_API", "3"}});
}

std::string Etcdctl::run(const std::vector<std::string>& args) const {
  CommandResult r = run_raw(args);
  if (!r.status.exited_with(0)) {
    std::string cmd = "etcdctl";
    for (const auto& a : args) cmd += " " + a;
    throw std::runtime_error(cmd + " (endpoints " + endpoints_ + "): " + r.status.describe() +
                             ": " + r.err);
  }
  return r.out;
}

std::vector<KeyValue> Etcdctl::get_kvs(const std::vector<std::string>& args) const {
  const auto doc = nlohmann::json::parse(run(args));
  std::vector<KeyValue> out;
  if (!doc.contains("kvs")) return out;  // empty results omit "kvs"
  for (const auto& kv : doc.at("kvs")) {
    KeyValue item;
    item.key = base64_decode(kv.at("key").get<std::string>());
    item.value = base64_decode(kv.value("value", std::string{}));
    item.lease = kv.value("lease", std::int64_t{0});
    item.create_revision = kv.value("create_revision", std::int64_t{0});
    item.mod_revision = kv.value("mod_revision", std::int64_t{0});
    item.version = kv.value("version", std::int64_t{0});
    out.push_back(std::move(item));
  }
  return out;
}

std::vector<KeyValue> Etcdctl::get_prefix(const std::string& prefix) const {
  if (prefix.empty()) return get_all();
  return get_kvs({"get", "--prefix", "-w", "json", "--", prefix});
}

std::vector<KeyValue> Etcdctl::get_all() const {
  return get_kvs({"get", "--from-key", "-w", "json", "--", ""});
}

std::optional<KeyValue> Etcdctl::get(const std::string& key) const {
  auto kvs = get_kvs({"get", "-w", "json", "--", key});
  if (kvs.empty()) return std::nullopt;
  return kvs.front();
}

std::vector<std::int64_t> Etcdctl::lease_list() const {
  const auto doc = nlohmann::json::parse(run({"lease", "list", "-w", "json"}));
  std::vector<std::int64_t> ids;
  if (!doc.contains("leases") || doc.at("leases").is_null()) return ids;
  for (const auto& l : doc.at("leases")) ids.push_back(l.at("id").get<std::int64_t>());
  return ids;
}

LeaseTtl Etcdctl::lease_ttl(std::int64_t id) const {
  const auto doc =
      nlohmann::json::parse(run({"lease", "timetolive", "--keys", "-w", "json", lease_hex(id)}));
  LeaseTtl t;
  t.ttl = doc.value("ttl", std::int64_t{-1});
  t.granted_ttl = doc.value("granted-ttl", std::int64_t{0});
  if (doc.contains("keys") && doc.at("keys").is_array()) {
    for (const auto& k : doc.at("keys")) t.keys.push_back(base64_decode(k.get<std::string>()));
  }
  return t;
}

std::int64_t Etcdctl::lease_grant(int ttl_seconds) const {
  const auto doc =
      nlohmann::json::parse(run({"lease", "grant", std::to_string(ttl_seconds), "-w", "json"}));
  return doc.at("ID").get<std::int64_t>();
}

void Etcdctl::lease_revoke(std::int64_t id) const {
  run({"lease", "revoke", lease_hex(id)});
}

void Etcdctl::put(const std::string& key, const std::string& value, std::int64_t lease) const {
  std::vector<std::string> args{"put"};
  if (lease != 0) args.push_back("--lease=" + lease_hex(lease));
  args.insert(args.end(), {"--", key, value});
  run(args);
}

std::int64_t Etcdctl::del(const std::string& key) const {
  const auto doc = nlohmann::json::parse(run({"del", "-w", "json", "--", key}));
  return doc.value("deleted", std::int64_t{0});
}

std::int64_t Etcdctl::revision() const {
  // A point read of one key; the header carries the store revision whatever the key.
  const auto doc =
      nlohmann::json::parse(run({"get", "-w", "json", "--", "registrar-test/revision-probe"}));
  return doc.at("header").at("revision").get<std::int64_t>();
}

bool Etcdctl::healthy() const {
  try {
    return run_raw({"endpoint", "health"}).status.exited_with(0);
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace registrar::test
