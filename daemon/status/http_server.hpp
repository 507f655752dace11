// A small HTTP/1.1 server on Boost.Beast for the status endpoints, on TCP (reading: health,
// readiness, services, metrics) and on a Unix control socket (acting: drain). One session per
// connection (shared_from_this keeps it alive), keep-alive, every read and write bounded by a
// timeout, small request bodies only; connections admitted per client (status/admission.hpp) and
// requests screened before any endpoint sees them (status/request_policy.hpp). Runs on the
// daemon's executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "status/admission.hpp"
#include "status/peer.hpp"

namespace registrar::status {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // the target without its query string
  std::string query;   // after '?', or ""
  std::string body;
  Peer peer;  // who asked; peer.control_socket says the request came on the control socket
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Allow
};

// Answers one request. May call `respond` later (once), from the executor.
using HttpHandler =
    std::function<void(const HttpRequest&, std::function<void(HttpResponse)> respond)>;

struct HttpServerLimits {
  // Reading one request, from the moment the connection waits for it (so also how long an idle
  // keep-alive connection is kept): short, so that idle connections give their place back.
  std::chrono::milliseconds request_timeout{3000};
  std::chrono::milliseconds io_timeout{10000};  // each write
  std::size_t max_body_bytes = 16 * 1024;
  AdmissionLimits connections;  // counted for TCP and the control socket separately
  bool any_ip_host = false;     // status.allow_remote: Host may be any IP address
};

class HttpServer {
 public:
  HttpServer(boost::asio::any_io_executor executor, HttpHandler handler,
             HttpServerLimits limits = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting. Throws std::system_error (e.g. address in use).
  void listen(const boost::asio::ip::tcp::endpoint& endpoint);
  // Where it listens (the real port when 0 was asked for).
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  // Binds the control socket at `path` (mode 0660: the daemon's user and group may act) and
  // starts accepting on it. Creates the parent directory (0755) when missing; replaces a stale
  // socket file; refuses a path that another process still listens on or that is not a socket.
  // Throws std::system_error with a message naming the path.
  void listen_unix(const std::string& path);
  // Stops accepting, closes every connection and removes the control socket's file.
  void stop();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace registrar::status
