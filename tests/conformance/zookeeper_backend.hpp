// The conformance suite's ZooKeeper: a real server (support/zookeeper_server.*, Debian's 3.8) on a
// free loopback port with a temp data dir, read with the test's own client on the C library. The
// curator format: <base>/<name>/<id> holds Curator's ServiceInstance JSON, read back through the
// backend's own decoder; an instance is listed only while healthy. The write counter is the
// server's last zxid (`srvr`), each entry's version its node's mzxid. Bounds: docs/zookeeper.md.
#pragma once

#include <memory>

#include "conformance/backend.hpp"
#include "support/zk_test_client.hpp"
#include "support/zookeeper_server.hpp"

namespace registrar::conformance {

class ZooKeeperBackend final : public Backend {
 public:
  // ZooKeeper's jar and java are there (else: a failure under CI=true, a warning elsewhere).
  static bool available();
  ZooKeeperBackend();

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
  test::ZkTestClient& client();

  test::ZooKeeperServer zk_;
  std::unique_ptr<test::ZkTestClient> client_;  // re-made after the server lost its state
};

}  // namespace registrar::conformance
