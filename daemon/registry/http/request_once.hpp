// One request to a registry server, synchronously, on the daemon's own HTTP(S) client: for the
// one-off commands (`grpc-registrar deregister --consul`, ...), so that they speak HTTPS exactly
// as the daemon does (same verification, same error texts).
#pragma once

#include <chrono>
#include <string>

#include "config/manifest.hpp"
#include "registry/http/tls_names.hpp"
#include "registry/http/transport.hpp"

namespace registrar::registry::http {

// `address` as HttpClient takes it. Runs a private io_context until the request is answered or
// fails (bounded by `timeout`).
HttpResult request_once(const std::string& address, const config::TlsSpec& tls,
                        const TlsNames& tls_names, std::chrono::milliseconds timeout,
                        HttpRequest request);

}  // namespace registrar::registry::http
