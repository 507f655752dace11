// The keepalive timeout of the etcd channel as it applies: shared by the parser, the effective
// configuration and the etcd client, so that "unset" means the same everywhere.
#pragma once

#include <algorithm>
#include <chrono>

#include "config/manifest.hpp"

namespace registrar::config {

// keepalive_timeout, or when 0 (unset), max(dial_timeout, 1s) capped at 1m: gRPC sets it as the
// socket's TCP_USER_TIMEOUT, which under a second would close healthy connections on a slow link.
inline Duration keepalive_timeout_of(const EtcdSpec& e) {
  using namespace std::chrono_literals;
  return e.keepalive_timeout.count() > 0 ? e.keepalive_timeout
                                         : std::clamp<Duration>(e.dial_timeout, 1s, 1min);
}

}  // namespace registrar::config
