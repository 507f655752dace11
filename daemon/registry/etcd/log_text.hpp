// How the etcd backend names things in its log lines: leases in hex (as etcdctl shows them),
// counts of entries, failed calls with their gRPC code.
#pragma once

#include <grpcpp/support/status.h>
#include <spdlog/fmt/fmt.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace registrar::registry::etcd {

inline std::string lease_hex(std::int64_t id) {
  return fmt::format("{:x}", id);
}

inline std::string entries(std::size_t n) {
  return fmt::format("{} {}", n, n == 1 ? "entry" : "entries");
}

inline std::string describe(const grpc::Status& s) {
  return fmt::format("{} (gRPC code {})", s.error_message(), static_cast<int>(s.error_code()));
}

}  // namespace registrar::registry::etcd
