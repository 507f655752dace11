#include "status/http_server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <list>
#include <optional>
#include <system_error>

namespace registrar::status {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

namespace {
class Session;
}

struct HttpServer::State {
  State(boost::asio::any_io_executor ex, HttpHandler h, HttpServerLimits l)
      : executor(ex), acceptor(ex), handler(std::move(h)), limits(l) {}
  boost::asio::any_io_executor executor;
  tcp::acceptor acceptor;
  HttpHandler handler;
  HttpServerLimits limits;
  std::list<std::weak_ptr<Session>> sessions;
  bool stopped = false;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<HttpServer::State> server)
      : stream_(std::move(socket)), server_(std::move(server)) {}

  void start() { read(); }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(server_->limits.max_body_bytes);
    parser_->header_limit(8 * 1024);
    stream_.expires_after(server_->limits.io_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) return reply_error(413, "request body too large\n");
    if (ec) return close();  // end of stream, timeout, bad request line, reset
    request_ = parser_->release();
    keep_alive_ = request_.keep_alive();
    HttpRequest req;
    req.method = std::string(request_.method_string());
    std::string target(request_.target());
    if (auto q = target.find('?'); q != std::string::npos) {
      req.query = target.substr(q + 1);
      target.resize(q);
    }
    req.path = std::move(target);
    req.body = std::move(request_.body());
    stream_.expires_never();  // the handler may take its time (a drain); writes are bounded
    auto self = shared_from_this();
    server_->handler(req, [self, answered = std::make_shared<bool>(false)](HttpResponse resp) {
      if (*answered) return;
      *answered = true;
      self->write(std::move(resp));
    });
  }

  void reply_error(int status, const std::string& text) {
    keep_alive_ = false;
    HttpResponse resp;
    resp.status = status;
    resp.body = text;
    write(std::move(resp));
  }

  void write(HttpResponse resp) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<http::status>(resp.status));
    res->set(http::field::server, "grpc-registrar");
    res->set(http::field::content_type, resp.content_type);
    res->set(http::field::cache_control, "no-store");
    for (const auto& [name, value] : resp.headers) res->set(name, value);
    res->keep_alive(keep_alive_ && !server_->stopped);
    res->body() = std::move(resp.body);
    res->prepare_payload();
    stream_.expires_after(server_->limits.io_timeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                        if (ec || !res->keep_alive()) return self->close();
                        self->read();
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
  bool keep_alive_ = false;
  std::shared_ptr<HttpServer::State> server_;
};

}  // namespace

HttpServer::HttpServer(boost::asio::any_io_executor executor, HttpHandler handler,
                       HttpServerLimits limits)
    : state_(std::make_shared<State>(executor, std::move(handler), limits)) {}

HttpServer::~HttpServer() {
  stop();
}

namespace {

void accept_loop(const std::shared_ptr<HttpServer::State>& state) {
  state->acceptor.async_accept([state](beast::error_code ec, tcp::socket socket) {
    if (state->stopped) return;
    if (!ec) {
      state->sessions.remove_if([](const std::weak_ptr<Session>& w) { return w.expired(); });
      if (state->sessions.size() >= state->limits.max_connections) {
        beast::error_code ignored;
        socket.close(ignored);  // over the cap: refuse by closing
      } else {
        auto session = std::make_shared<Session>(std::move(socket), state);
        state->sessions.push_back(session);
        session->start();
      }
    } else if (ec == boost::asio::error::operation_aborted) {
      return;
    }
    accept_loop(state);
  });
}

}  // namespace

void HttpServer::listen(const tcp::endpoint& endpoint) {
  auto& acceptor = state_->acceptor;
  beast::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    acceptor.close(ignored);
    throw std::system_error(ec, "cannot listen on " + endpoint.address().to_string() + ":" +
                                    std::to_string(endpoint.port()));
  }
  accept_loop(state_);
}

tcp::endpoint HttpServer::local_endpoint() const {
  beast::error_code ec;
  return state_->acceptor.local_endpoint(ec);
}

void HttpServer::stop() {
  if (!state_ || state_->stopped) return;
  state_->stopped = true;
  beast::error_code ignored;
  state_->acceptor.close(ignored);
  for (auto& w : state_->sessions)
    if (auto s = w.lock()) s->close();
  state_->sessions.clear();
}

}  // namespace registrar::status
