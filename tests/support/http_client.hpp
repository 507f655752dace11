// HttpClient: a small synchronous HTTP/1.1 client on Boost.Beast for tests. One request at a
// time; every operation (connect, write, read) is bounded by the timeout. Either a new
// connection per request (the default) or one kept-alive connection, reopened after a failure.
#pragma once

#include <cstdint>
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

// The request never got an answer: refused, timed out, or the connection was closed.
class HttpTransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class HttpClient {
 public:
  HttpClient(std::string host, std::uint16_t port, Millis timeout = 10s, bool keep_alive = false);
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

 private:
  struct Connection;

  std::string host_;
  std::uint16_t port_;
  Millis timeout_;
  bool keep_alive_;
  std::unique_ptr<Connection> connection_;  // the kept-alive one, if any
};

// Percent-encodes a query or path component (RFC 3986 unreserved characters stay).
std::string url_encode(const std::string& s);

}  // namespace registrar::test
