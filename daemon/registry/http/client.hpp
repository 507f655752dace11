// HttpClient: the real HttpTransport. HTTP/1.1 on Boost.Beast over one persistent keep-alive
// connection to one registry server, the Consul agent for example (TCP, or a Unix socket for
// "unix:///path"), one request at a time. Every request has a deadline covering resolving,
// connecting, writing and reading. A connection the server closed is reopened for the next
// request; a request that finds its reused connection closed before any answer is sent once more
// on a new one, so every request a backend sends must be idempotent (a registration that
// replaces, a heartbeat, a delete). With TLS (registry.<kind>.tls enabled) the same happens over
// HTTPS: every new connection gets a fresh TLS context from the files as they are then
// (tls_context.hpp), so rotated certificates, keys and CA bundles are picked up on reconnect.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "config/manifest.hpp"
#include "registry/http/tls_names.hpp"
#include "registry/http/transport.hpp"

namespace registrar::registry::http {

class HttpClient final : public HttpTransport {
 public:
  // `address` as normalised by the manifest (config::normalize_consul_address for Consul):
  // "host:port", "[v6]:port" or "unix:///path". Every callback runs on `executor`, which must
  // run on one thread. `tls`: HTTPS when enabled (TCP addresses only), its messages worded with
  // `tls_names` (required then).
  HttpClient(boost::asio::any_io_executor executor, const std::string& address,
             std::chrono::milliseconds timeout, const config::TlsSpec& tls = {},
             TlsNames tls_names = {});
  ~HttpClient() override;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  void send(HttpRequest req, Done done) override;
  void cancel_all() override;
  const std::string& endpoint() const override;

  // Requests answered on a reused connection, and connections opened (for tests).
  std::size_t reused_count() const;
  std::size_t connect_count() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace registrar::registry::http
