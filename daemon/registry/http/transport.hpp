// What the HTTP registry backends (Consul's agent API, and the heartbeat registries) need of
// HTTP: one request at a time to one server, each with a timeout. The seam that lets unit tests
// script the server's answers.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace registrar::registry::http {

enum class Method { Get, Put, Post, Delete };

const char* to_string(Method m);

// A header of one request. Values may be credentials (X-Consul-Token, Authorization): the client
// never logs them, and neither may a backend.
struct Header {
  std::string name;
  std::string value;

  friend bool operator==(const Header&, const Header&) = default;
};

struct HttpRequest {
  Method method = Method::Get;
  std::string target;  // path and query, e.g. "/v1/agent/service/register?x=1", already escaped
  std::string body;    // or empty
  std::vector<Header> headers;  // beside Host, User-Agent and Content-Type
  // Sent as Content-Type when the body is not empty.
  std::string content_type = "application/json";

  // The value of header `name` (case-insensitive), or "" when absent.
  std::string header(std::string_view name) const;
};

struct HttpResult {
  enum class Error {
    None,       // the server answered; see status
    Timeout,    // no complete answer within the request timeout
    Connect,    // could not connect (refused, unreachable, name not resolved)
    Closed,     // the connection broke before a complete answer
    Cancelled,  // cancel_all()
  };
  Error error = Error::None;
  std::string error_text;  // human-readable, when error != None
  int status = 0;          // HTTP status, when error == None
  std::string body;
  // The answer's headers (Consul's X-Consul-Index, which blocking queries wait on).
  std::vector<Header> headers;

  // The value of header `name` (case-insensitive), or "" when absent.
  std::string header(std::string_view name) const;

  bool answered() const { return error == Error::None; }
  bool ok() const { return answered() && status >= 200 && status < 300; }
};

const char* to_string(HttpResult::Error e);

class HttpTransport {
 public:
  using Done = std::function<void(HttpResult)>;
  virtual ~HttpTransport() = default;
  // Queues `req` behind any earlier request; `done` runs exactly once, on the executor, never
  // inside send().
  virtual void send(HttpRequest req, Done done) = 0;
  // Fails the request in flight and every queued one with Error::Cancelled (their `done` still
  // runs, later) and closes the connection. Later requests open a new one.
  virtual void cancel_all() = 0;
  // Where requests go, for log lines: "127.0.0.1:8500" or "unix:///path".
  virtual const std::string& endpoint() const = 0;
};

}  // namespace registrar::registry::http
