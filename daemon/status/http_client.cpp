#include "status/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace registrar::status {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using local_stream = boost::asio::local::stream_protocol;

namespace {

http::request<http::string_body> make_request(const std::string& host, const std::string& method,
                                              const std::string& path, const HttpHeaders& headers) {
  http::request<http::string_body> req{http::string_to_verb(method), path, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "grpc-registrar");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.prepare_payload();
  return req;
}

// Connects to `endpoint`, sends `req` and reads the answer; every step is bounded by the
// stream's expiry. `where` names the server in errors.
template <class Protocol>
std::optional<HttpResult> exchange(const typename Protocol::endpoint& endpoint,
                                   http::request<http::string_body>& req, const std::string& where,
                                   std::chrono::milliseconds timeout, std::string& error) {
  boost::asio::io_context io;
  beast::basic_stream<Protocol> stream(io);
  http::response<http::string_body> res;
  beast::flat_buffer buffer;
  std::optional<HttpResult> result;
  stream.expires_after(timeout);
  stream.async_connect(endpoint, [&](beast::error_code e) {
    if (e) {
      error = "cannot connect to " + where + ": " + e.message();
      return;
    }
    http::async_write(stream, req, [&](beast::error_code e2, std::size_t) {
      if (e2) {
        error = "request failed: " + e2.message();
        return;
      }
      http::async_read(stream, buffer, res, [&](beast::error_code e3, std::size_t) {
        if (e3) {
          error = "no answer: " + e3.message();
          return;
        }
        result = HttpResult{static_cast<int>(res.result_int()), res.body()};
      });
    });
  });
  io.run();
  beast::error_code ignored;
  stream.socket().shutdown(Protocol::socket::shutdown_both, ignored);
  return result;
}

}  // namespace

std::optional<HttpResult> http_request(const std::string& host, std::uint16_t port,
                                       const std::string& method, const std::string& path,
                                       std::chrono::milliseconds timeout, std::string& error,
                                       const HttpHeaders& headers) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  const bool v6_literal = !ec && address.is_v6();
  if (ec) {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    const auto found = resolver.resolve(host, std::to_string(port), ec);
    if (ec || found.empty()) {
      error = "cannot resolve " + host + ": " + (ec ? ec.message() : std::string("no address"));
      return std::nullopt;
    }
    address = found.begin()->endpoint().address();
  }
  // Host as RFC 9110 writes it: an IPv6 literal in brackets, with the port.
  const std::string host_header =
      (v6_literal ? "[" + host + "]" : host) + ":" + std::to_string(port);
  auto req = make_request(host_header, method, path, headers);
  return exchange<tcp>(tcp::endpoint(address, port), req, host + ":" + std::to_string(port),
                       timeout, error);
}

std::optional<HttpResult> http_request_unix(const std::string& socket_path,
                                            const std::string& method, const std::string& path,
                                            std::chrono::milliseconds timeout, std::string& error,
                                            const HttpHeaders& headers) {
  auto req = make_request("localhost", method, path, headers);
  return exchange<local_stream>(local_stream::endpoint(socket_path), req,
                                "the control socket " + socket_path, timeout, error);
}

}  // namespace registrar::status
