// The read side of a registry: go-kit's Instancer. One implementation per backend
// (etcd_instancer, consul_instancer, zookeeper_instancer, eureka_instancer, nacos_instancer),
// made by factory.cpp; `resolve` and `watch` use only this.
#pragma once

#include <functional>

#include "discovery/instance.hpp"

namespace registrar::discovery {

class Instancer {
 public:
  using OnEvent = std::function<void(const Event&)>;
  virtual ~Instancer() = default;

  // One read of the instances the query selects. `done` runs once, on the executor, never inside
  // list(): the set, or an error (registry unreachable, refused, answer not understood).
  virtual void list(OnEvent done) = 0;

  // The set now, then again whenever it changes, through the registry's own change notification,
  // until stop(). Each event is the whole set. A failure is reported as an error event (once per
  // outage and cause), never as an empty set; the reader then retries with backoff, reads the
  // set again and reports it if it differs from the last one reported. Called once.
  virtual void watch(OnEvent on_event) = 0;

  // Ends list() and watch(): no callback runs after stop() returns (all on the executor).
  virtual void stop() = 0;
};

}  // namespace registrar::discovery
