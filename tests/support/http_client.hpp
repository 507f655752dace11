// HttpClient: a small synchronous HTTP/1.1 client on Boost.Beast for tests. One request at a
// time; every operation (connect, write, read) is bounded by the timeout. Either a new
// connection per request (the default) or one kept-alive connection, reopened after a failure.
// With HttpTls: HTTPS (the server certificate verified against a CA, optionally a client
// certificate for mTLS).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/wait.hpp"

namespace registrar::test {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased; repeated headers joined ", "
  std::string body;

  // The header's value, or nullopt. `name` is matched case-insensitively.
  std::optional<std::string> header(const std::string& name) const;
};

// HTTPS settings of a test client. The files are read when a connection is made.
struct HttpTls {
  std::filesystem::path ca;    // verify the server against this CA; empty: no verification
  std::filesystem::path cert;  // client certificate (mTLS), with `key`
  std::filesystem::path key;
  std::string server_name;  // SNI and the name checked; "" = the host (an IP: checked, no SNI)
};

// The request never got an answer: refused, timed out, the TLS handshake failed, or the
// connection was closed.
class HttpTransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class HttpClient {
 public:
  HttpClient(std::string host, std::uint16_t port, Millis timeout = 10s, bool keep_alive = false);
  HttpClient(std::string host, std::uint16_t port, Millis timeout, bool keep_alive, HttpTls tls);
  ~HttpClient();

  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  // `target` is the path with its query ("/v1/agent/services?x=1"). Throws HttpTransportError.
  HttpResponse request(const std::string& method, const std::string& target,
                       const std::string& body = {}, const HttpHeaders& headers = {});
  HttpResponse get(const std::string& target, const HttpHeaders& headers = {}) {
    return request("GET", target, {}, headers);
  }
  HttpResponse put(const std::string& target, const std::string& body = {},
                   const HttpHeaders& headers = {}) {
    return request("PUT", target, body, headers);
  }
  HttpResponse post(const std::string& target, const std::string& body = {},
                    const HttpHeaders& headers = {}) {
    return request("POST", target, body, headers);
  }

  void set_timeout(Millis timeout) { timeout_ = timeout; }
  Millis timeout() const { return timeout_; }
  const std::string& host() const { return host_; }
  std::uint16_t port() const { return port_; }
  bool tls() const { return tls_.has_value(); }

 private:
  struct Connection;

  std::string host_;
  std::uint16_t port_;
  Millis timeout_;
  bool keep_alive_;
  std::optional<HttpTls> tls_;
  std::unique_ptr<Connection> connection_;  // the kept-alive one, if any
};

// Percent-encodes a query or path component (RFC 3986 unreserved characters stay).
std::string url_encode(const std::string& s);

}  // namespace registrar::test
