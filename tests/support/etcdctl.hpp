// Etcdctl: the independent reference reader/writer. Runs the real etcdctl (API v3) and parses
// its `-w json` output (keys and values arrive base64-encoded, lease ids in decimal).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace registrar::test {

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t lease = 0;  // 0 = no lease
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;  // unchanged <=> the key was not written again
  std::int64_t version = 0;
};

struct LeaseTtl {
  std::int64_t ttl = -1;          // remaining seconds; -1 when the lease does not exist
  std::int64_t granted_ttl = 0;   // 0 when the lease does not exist
  std::vector<std::string> keys;  // attached keys
};

class Etcdctl {
 public:
  // `endpoints`: "host:port[,host:port...]".
  explicit Etcdctl(std::string endpoints, Millis command_timeout = 3s);

  std::vector<KeyValue> get_prefix(const std::string& prefix) const;
  std::vector<KeyValue> get_all() const;
  std::optional<KeyValue> get(const std::string& key) const;
  std::vector<std::int64_t> lease_list() const;
  LeaseTtl lease_ttl(std::int64_t id) const;  // lease timetolive --keys
  std::int64_t lease_grant(int ttl_seconds) const;
  void lease_revoke(std::int64_t id) const;
  void put(const std::string& key, const std::string& value, std::int64_t lease = 0) const;
  std::int64_t del(const std::string& key) const;  // number of keys deleted
  bool healthy() const;
  // The store's current revision: it grows by one with every put and every delete.
  std::int64_t revision() const;  // `endpoint health` exits 0 (never throws)

  // Runs etcdctl with the endpoint flags and `args`; throws std::runtime_error if it does not
  // exit 0 (or at all within the command timeout plus a margin).
  std::string run(const std::vector<std::string>& args) const;
  // As run() but returns the raw result whatever the exit status.
  CommandResult run_raw(const std::vector<std::string>& args) const;

  const std::string& endpoints() const { return endpoints_; }

 private:
  std::vector<KeyValue> get_kvs(const std::vector<std::string>& args) const;

  std::string endpoints_;
  Millis command_timeout_;
};

std::string etcdctl_bin();
// Lease ids are hex on etcdctl's command line and in its text output.
std::string lease_hex(std::int64_t id);
std::string base64_decode(const std::string& in);

}  // namespace registrar::test
