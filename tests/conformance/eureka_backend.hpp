// The conformance suite's Eureka: the project's server double (tests/eureka_double, support/
// eureka_double.*), read as a Eureka client reads it: GET /eureka/apps (its response cache
// refreshed every 100 ms here), an instance healthy when UP; the double's request log for what
// the daemon wrote. Every instance is listed, an unhealthy one as DOWN; tags are not kept.
// Bounds: docs/eureka.md, "Faults and their bounds".
#pragma once

#include "conformance/backend.hpp"
#include "support/eureka_double.hpp"

namespace registrar::conformance {

class EurekaBackend final : public Backend {
 public:
  static bool available();
  EurekaBackend();

  config::RegistrySpec spec() const override;
  bool lists_unhealthy() const override { return true; }
  bool keeps_tags() const override { return false; }
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
  test::EurekaDouble eureka_;
};

}  // namespace registrar::conformance
