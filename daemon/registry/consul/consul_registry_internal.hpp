// What the files of ConsulRegistry share and nothing else needs: the kinds of request it sends
// (as metrics name them) and two small wording helpers for log lines.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <string>

#include "runtime/clock.hpp"

namespace registrar::registry::consul {

// Each request the backend sends, as metrics name it (the `kind` label).
struct RequestKind {
  const char* name;
  bool not_found_ok = false;  // 404 is the wanted outcome (deregistering what is gone)
  bool keepalive = false;     // resets a TTL check: its round trip is a keepalive latency
};

inline const RequestKind kServicesList{"services_list"};
inline const RequestKind kChecksList{"checks_list"};
inline const RequestKind kRegister{"register"};
inline const RequestKind kCheckUpdate{"check_update", false, true};
inline const RequestKind kServiceGet{"service_get"};
inline const RequestKind kDeregister{"deregister", true};

// "1 service", "2 services".
inline std::string services(std::size_t n) {
  return fmt::format("{} {}", n, n == 1 ? "service" : "services");
}

inline long long ms_since(runtime::Clock::time_point t, runtime::Clock::time_point now) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(now - t).count();
}

}  // namespace registrar::registry::consul
