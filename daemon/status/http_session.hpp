// The server's insides, shared by http_server.cpp's accept loops: its state, and one session per
// connection, the same for TCP and the control socket (a template on the stream's protocol).
// A session reads the request's header first, so that framing it does not implement and
// browser-shaped requests are answered (and the connection closed) before any body is read.
#pragma once

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <list>
#include <optional>

#include "status/admission.hpp"
#include "status/http_server.hpp"
#include "status/request_policy.hpp"

namespace registrar::status {

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void close() = 0;
};

struct HttpServer::State {
  State(boost::asio::any_io_executor ex, HttpHandler h, HttpServerLimits l)
      : executor(ex),
        tcp_acceptor(ex),
        unix_acceptor(ex),
        handler(std::move(h)),
        limits(l),
        tcp_admission(l.connections),
        unix_admission(l.connections) {}
  boost::asio::any_io_executor executor;
  boost::asio::ip::tcp::acceptor tcp_acceptor;
  boost::asio::local::stream_protocol::acceptor unix_acceptor;
  std::string unix_path;  // the control socket's file, removed by stop()
  HttpHandler handler;
  HttpServerLimits limits;
  Admission tcp_admission;
  Admission unix_admission;
  std::list<std::weak_ptr<SessionBase>> sessions;
  bool stopped = false;
};

// The request headers the policy reads.
RequestHeaders policy_headers(
    const boost::beast::http::request_parser<boost::beast::http::string_body>::value_type& header);

// The answer to a read that failed: 413, 431 or 400 for what the parser refused; nullopt (close
// without answering) for end of stream, a timeout or a reset.
std::optional<HttpResponse> read_error_response(const boost::beast::error_code& ec);

template <class Protocol>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Protocol>> {
 public:
  using Stream = boost::beast::basic_stream<Protocol>;

  Session(typename Protocol::socket socket, Peer peer, Admission& admission,
          std::shared_ptr<HttpServer::State> server)
      : stream_(std::move(socket)),
        peer_(std::move(peer)),
        client_(peer_.client_key()),
        admission_(admission),
        server_(std::move(server)) {}
  ~Session() override { admission_.release(client_); }

  void start() { read_header(); }

  void close() override {
    boost::beast::error_code ec;
    stream_.socket().shutdown(Protocol::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  void read_header() {
    parser_.emplace();
    parser_->body_limit(server_->limits.max_body_bytes);
    parser_->header_limit(8 * 1024);
    stream_.expires_after(server_->limits.request_timeout);  // idle wait + the whole request
    boost::beast::http::async_read_header(
        stream_, buffer_, *parser_,
        boost::beast::bind_front_handler(&Session::on_header, this->shared_from_this()));
  }

  void on_header(boost::beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    RequestPolicy policy;
    policy.control_socket = peer_.control_socket;
    policy.any_ip_host = server_->limits.any_ip_host;
    if (auto refusal = refuse(policy_headers(parser_->get()), policy))
      return reply_and_close(refusal->status, refusal->reason + "\n");
    boost::beast::http::async_read(
        stream_, buffer_, *parser_,
        boost::beast::bind_front_handler(&Session::on_body, this->shared_from_this()));
  }

  void on_body(boost::beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    auto request = parser_->release();
    keep_alive_ = request.keep_alive();
    HttpRequest req;
    req.method = std::string(request.method_string());
    std::string target(request.target());
    if (auto q = target.find('?'); q != std::string::npos) {
      req.query = target.substr(q + 1);
      target.resize(q);
    }
    req.path = std::move(target);
    req.body = std::move(request.body());
    req.peer = peer_;
    stream_.expires_never();  // the handler may take its time (a drain); writes are bounded
    auto self = this->shared_from_this();
    server_->handler(req, [self, answered = std::make_shared<bool>(false)](HttpResponse resp) {
      if (*answered) return;
      *answered = true;
      self->write(std::move(resp));
    });
  }

  void on_read_error(const boost::beast::error_code& ec) {
    if (auto response = read_error_response(ec))
      return reply_and_close(response->status, response->body);
    close();
  }

  void reply_and_close(int status, const std::string& text) {
    keep_alive_ = false;
    HttpResponse resp;
    resp.status = status;
    resp.body = text;
    write(std::move(resp));
  }

  void write(HttpResponse resp) {
    namespace http = boost::beast::http;
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<http::status>(resp.status));
    res->set(http::field::server, "grpc-registrar");
    res->set(http::field::content_type, resp.content_type);
    res->set(http::field::cache_control, "no-store");
    res->set("X-Content-Type-Options", "nosniff");
    for (const auto& [name, value] : resp.headers) res->set(name, value);
    res->keep_alive(keep_alive_ && !server_->stopped);
    res->body() = std::move(resp.body);
    res->prepare_payload();
    stream_.expires_after(server_->limits.io_timeout);
    http::async_write(
        stream_, *res,
        [self = this->shared_from_this(), res](boost::beast::error_code ec, std::size_t) {
          if (ec || !res->keep_alive()) return self->close();
          self->read_header();
        });
  }

  Stream stream_;
  Peer peer_;
  std::string client_;
  Admission& admission_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  bool keep_alive_ = false;
  std::shared_ptr<HttpServer::State> server_;
};

}  // namespace registrar::status
