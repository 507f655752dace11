#include "status/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace registrar::status {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

std::optional<HttpResult> http_request(const std::string& host, std::uint16_t port,
                                       const std::string& method, const std::string& path,
                                       std::chrono::milliseconds timeout, std::string& error,
                                       const HttpHeaders& headers) {
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  if (ec) {
    tcp::resolver resolver(io);
    const auto found = resolver.resolve(host, std::to_string(port), ec);
    if (ec || found.empty()) {
      error = "cannot resolve " + host + ": " + (ec ? ec.message() : std::string("no address"));
      return std::nullopt;
    }
    address = found.begin()->endpoint().address();
  }
  http::request<http::string_body> req{http::string_to_verb(method), path, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "grpc-registrar");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.prepare_payload();
  http::response<http::string_body> res;
  beast::flat_buffer buffer;
  std::optional<HttpResult> result;

  stream.expires_after(timeout);
  stream.async_connect(tcp::endpoint(address, port), [&](beast::error_code e) {
    if (e) {
      error = "cannot connect to " + host + ":" + std::to_string(port) + ": " + e.message();
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
  io.run();  // every step is bounded by the stream's expiry
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return result;
}

}  // namespace registrar::status
