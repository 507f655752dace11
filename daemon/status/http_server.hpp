// A small HTTP/1.1 server on Boost.Beast for the status endpoints: one session per connection
// (shared_from_this keeps it alive), keep-alive, every read and write bounded by a timeout,
// small request bodies only, a cap on concurrent connections. Runs on the daemon's executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace registrar::status {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // the target without its query string
  std::string query;   // after '?', or ""
  std::string body;
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
  std::chrono::milliseconds io_timeout{10000};  // each read of a request, each write
  std::size_t max_body_bytes = 16 * 1024;
  std::size_t max_connections = 64;
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
  // Stops accepting and closes every connection.
  void stop();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace registrar::status
