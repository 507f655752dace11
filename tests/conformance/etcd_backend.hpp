// The conformance suite's etcd: a real etcd (support/etcd_server.*) on a free loopback port with a
// temp data dir, read with etcdctl. The json key format: <prefix>/<name>/<id> holds
// {"name","id","address","port","tags","meta"}; an instance is listed only while healthy.
// Bounds: docs/operations.md, section 2 (wiped etcd) and the resync_interval.
#pragma once

#include "conformance/backend.hpp"
#include "support/etcd_server.hpp"

namespace registrar::conformance {

class EtcdBackend final : public Backend {
 public:
  // etcd's binary is there (else: a failure under CI=true, a warning elsewhere).
  static bool available();
  EtcdBackend();

  config::RegistrySpec spec() const override;
  bool lists_unhealthy() const override { return false; }

  std::optional<View> read() override;
  Mark mark() override;
  Writes writes_since(const Mark& mark) override;
  bool nothing_left() override;

  void remove_from_outside(const registry::Registration& r) override;
  void lose_state() override;
  void take_down() override;

  Millis state_loss_bound() const override;
  Millis outside_removal_bound() const override;
  Millis quiet_period() const override;

 private:
  struct Snapshot {
    std::int64_t revision = 0;
    std::vector<test::KeyValue> kvs;  // under the prefix
  };
  Snapshot snapshot() const;

  test::EtcdServer etcd_;
};

}  // namespace registrar::conformance
