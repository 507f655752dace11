// Which connections the status server keeps, so that no client can starve the others: at most
// `max_connections` in all and `per_client` per client (Peer::client_key: a user, else an IP
// address), and the last `reserved` places only for clients that hold none yet. A local user who
// holds as many connections as allowed thus leaves room for the health checks of everyone else
// (`grpc-registrar status`, a container HEALTHCHECK, a kubelet). Pure bookkeeping; the server
// closes what is not admitted, and idle connections go after a short timeout (http_server.hpp).
#pragma once

#include <cstddef>
#include <map>
#include <string>

namespace registrar::status {

struct AdmissionLimits {
  std::size_t max_connections = 64;
  std::size_t per_client = 8;
  std::size_t reserved = 16;  // of max_connections: only for a client's first connection
};

class Admission {
 public:
  explicit Admission(AdmissionLimits limits) : limits_(limits) {}

  // Takes a place for a new connection of `client`; false when it must be refused.
  bool admit(const std::string& client);
  // Gives back a place taken by admit().
  void release(const std::string& client);

  std::size_t total() const { return total_; }
  std::size_t held_by(const std::string& client) const;

 private:
  AdmissionLimits limits_;
  std::map<std::string, std::size_t> held_;
  std::size_t total_ = 0;
};

}  // namespace registrar::status
