// The conformance suite's Nacos: the project's double of Nacos's v1 Open API
// (tests/nacos_double, support/nacos_double.*) on a time scale of 0.2 (beats every second,
// unhealthy after 3 s, removed after 6 s), read as a client reads it: every instance of the
// public namespace with its health, and the double's request log for what the daemon wrote. Only
// healthy instances are listed (an unhealthy service is deregistered). Nacos keeps no id and no
// tags of ours: the reader keys each instance by the suite's `case` meta (the entry's id) and
// takes the tags as the suite wrote them. Bounds: docs/nacos.md, "What happens when".
#pragma once

#include "conformance/backend.hpp"
#include "support/nacos_double.hpp"

namespace registrar::conformance {

class NacosBackend final : public Backend {
 public:
  static bool available();
  NacosBackend();

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
  test::NacosDouble nacos_;
};

}  // namespace registrar::conformance
