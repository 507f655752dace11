// What the Consul backend needs of HTTP: one request at a time to the local agent, each with a
// timeout. The seam that lets unit tests script the agent's answers.
#pragma once

#include <functional>
#include <string>

namespace registrar::registry::consul {

enum class Method { Get, Put };

struct HttpRequest {
  Method method = Method::Get;
  std::string target;  // path and query, e.g. "/v1/agent/service/register?x=1", already escaped
  std::string body;    // JSON, or empty
  std::string token;   // sent as X-Consul-Token when not empty; never logged
};

struct HttpResult {
  enum class Error {
    None,       // the agent answered; see status
    Timeout,    // no complete answer within the request timeout
    Connect,    // could not connect (refused, unreachable, name not resolved)
    Closed,     // the connection broke before a complete answer
    Cancelled,  // cancel_all()
  };
  Error error = Error::None;
  std::string error_text;  // human-readable, when error != None
  int status = 0;          // HTTP status, when error == None
  std::string body;
  std::string consul_index;  // the X-Consul-Index header ("" = none): blocking queries' index

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

}  // namespace registrar::registry::consul
