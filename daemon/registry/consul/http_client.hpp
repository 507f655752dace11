// HttpClient: the real HttpTransport. HTTP/1.1 on Boost.Beast over one persistent keep-alive
// connection to the Consul agent (TCP, or a Unix socket for "unix:///path"), one request at a
// time. Every request has a deadline covering resolving, connecting, writing and reading. A
// connection the agent closed is reopened for the next request; a request that finds its reused
// connection closed before any answer is sent once more on a new one (every request the
// registry sends is idempotent). With TLS (registry.consul.tls enabled) the same happens over
// HTTPS: every new connection gets a fresh TLS context from the files as they are then
// (tls_context.hpp), so rotated certificates, keys and CA bundles are picked up on reconnect.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "config/manifest.hpp"
#include "registry/consul/http_transport.hpp"

namespace registrar::registry::consul {

class HttpClient final : public HttpTransport {
 public:
  // `address` as normalised by config::normalize_consul_address: "host:port", "[v6]:port" or
  // "unix:///path". Every callback runs on `executor`, which must run on one thread. `tls`:
  // HTTPS when enabled (TCP addresses only).
  HttpClient(boost::asio::any_io_executor executor, const std::string& address,
             std::chrono::milliseconds timeout, const config::TlsSpec& tls = {});
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

}  // namespace registrar::registry::consul
