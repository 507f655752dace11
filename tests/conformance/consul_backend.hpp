// The conformance suite's Consul: the project's agent double (tests/consul_double, support/
// consul_double.*), read through the agent API: /v1/agent/services for what is registered,
// /v1/health/service/<name>?passing for what a client takes as healthy, and the double's request
// log for what the daemon wrote. Every instance is listed, an unhealthy one with a critical check.
// Bounds: docs/consul.md, "What happens when".
#pragma once

#include "conformance/backend.hpp"
#include "support/consul_double.hpp"

namespace registrar::conformance {

class ConsulBackend final : public Backend {
 public:
  // The double is built (else: a failure under CI=true, a warning elsewhere).
  static bool available();
  ConsulBackend() = default;

  config::RegistrySpec spec() const override;
  bool lists_unhealthy() const override { return true; }

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
  Millis check_refresh() const;  // check_ttl / 3
  Millis backoff_step() const;   // B·(1+j)

  test::ConsulDouble consul_;
};

}  // namespace registrar::conformance
