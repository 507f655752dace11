// One request to the Consul agent, synchronously, on the daemon's own HTTP(S) client: for the
// one-off commands (`grpc-registrar deregister --consul`), so that they speak HTTPS exactly as
// the daemon does (same verification, same error texts).
#pragma once

#include <chrono>
#include <string>

#include "config/manifest.hpp"
#include "registry/consul/http_transport.hpp"

namespace registrar::registry::consul {

// `address` as normalised by config::normalize_consul_address. Runs a private io_context until
// the request is answered or fails (bounded by `timeout`).
HttpResult request_once(const std::string& address, const config::TlsSpec& tls,
                        std::chrono::milliseconds timeout, HttpRequest request);

}  // namespace registrar::registry::consul
