#include "status/http_server.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <system_error>

#include "status/http_session.hpp"

namespace registrar::status {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using local_stream = boost::asio::local::stream_protocol;

RequestHeaders policy_headers(const http::request_parser<http::string_body>::value_type& h) {
  RequestHeaders out;
  out.host = std::string(h[http::field::host]);
  out.origin = std::string(h[http::field::origin]);
  out.transfer_encoding = std::string(h[http::field::transfer_encoding]);
  out.content_type = std::string(h[http::field::content_type]);
  out.has_content_length = h.find(http::field::content_length) != h.end();
  for (const auto& field : h) {
    const beast::string_view name = field.name_string();
    if (name.size() >= 10 && beast::iequals(name.substr(0, 10), "sec-fetch-"))
      out.has_sec_fetch = true;
  }
  const auto length = h[http::field::content_length];
  out.has_body = !out.transfer_encoding.empty() ||
                 (!length.empty() && length.find_first_not_of("0") != beast::string_view::npos);
  return out;
}

std::optional<HttpResponse> read_error_response(const beast::error_code& ec) {
  HttpResponse r;
  if (ec == http::error::body_limit) {
    r.status = 413;
    r.body = "request body too large\n";
  } else if (ec == http::error::header_limit) {
    r.status = 431;
    r.body = "request header too large\n";
  } else if (ec.category() == beast::error_code(http::error::bad_method).category() &&
             ec != http::error::end_of_stream && ec != http::error::partial_message) {
    r.status = 400;
    r.body = "bad request: " + ec.message() + "\n";
  } else {
    return std::nullopt;  // end of stream, a timeout, a reset: nobody to answer
  }
  return r;
}

HttpServer::HttpServer(boost::asio::any_io_executor executor, HttpHandler handler,
                       HttpServerLimits limits)
    : state_(std::make_shared<State>(executor, std::move(handler), limits)) {}

HttpServer::~HttpServer() {
  stop();
}

namespace {

// A connection admitted by `admission` becomes a session; one over its client's limits is
// closed at once, before anything is read from it.
template <class Protocol>
void admit(const std::shared_ptr<HttpServer::State>& state, typename Protocol::socket socket,
           Peer peer, Admission& admission) {
  if (!admission.admit(peer.client_key())) {
    beast::error_code ignored;
    socket.close(ignored);
    return;
  }
  state->sessions.remove_if([](const std::weak_ptr<SessionBase>& w) { return w.expired(); });
  auto session =
      std::make_shared<Session<Protocol>>(std::move(socket), std::move(peer), admission, state);
  state->sessions.push_back(session);
  session->start();
}

void accept_tcp(const std::shared_ptr<HttpServer::State>& state) {
  state->tcp_acceptor.async_accept([state](beast::error_code ec, tcp::socket socket) {
    if (state->stopped || ec == boost::asio::error::operation_aborted) return;
    if (!ec) {
      Peer peer = tcp_peer(socket);
      admit<tcp>(state, std::move(socket), std::move(peer), state->tcp_admission);
    }
    accept_tcp(state);
  });
}

void accept_unix(const std::shared_ptr<HttpServer::State>& state) {
  state->unix_acceptor.async_accept([state](beast::error_code ec, local_stream::socket socket) {
    if (state->stopped || ec == boost::asio::error::operation_aborted) return;
    if (!ec) {
      Peer peer = unix_peer(socket);
      admit<local_stream>(state, std::move(socket), std::move(peer), state->unix_admission);
    }
    accept_unix(state);
  });
}

[[noreturn]] void fail(int error, const std::string& what) {
  throw std::system_error(std::error_code(error, std::generic_category()), what);
}

// The control socket's directory exists (created 0755 when missing, one level only), and no
// other process listens at `path`: a stale socket file is removed, anything else is refused.
void prepare_socket_path(const std::string& path) {
  const std::string dir = path.substr(0, path.rfind('/'));
  if (!dir.empty() && ::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    fail(errno, "cannot create the control socket's directory " + dir);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;
  if (!S_ISSOCK(st.st_mode)) fail(EEXIST, "control socket " + path + " exists and is not a socket");
  boost::asio::io_context probe_io;
  local_stream::socket probe(probe_io);
  beast::error_code ec;
  probe.connect(local_stream::endpoint(path), ec);
  if (!ec) fail(EADDRINUSE, "control socket " + path + " is in use by another process");
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    fail(errno, "cannot remove the stale control socket " + path);
}

}  // namespace

void HttpServer::listen(const tcp::endpoint& endpoint) {
  auto& acceptor = state_->tcp_acceptor;
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
  accept_tcp(state_);
}

tcp::endpoint HttpServer::local_endpoint() const {
  beast::error_code ec;
  return state_->tcp_acceptor.local_endpoint(ec);
}

void HttpServer::listen_unix(const std::string& path) {
  prepare_socket_path(path);
  auto& acceptor = state_->unix_acceptor;
  beast::error_code ec;
  acceptor.open(local_stream(), ec);
  if (!ec) {
    // 0660 from the start: no moment at which others could connect.
    const mode_t before = ::umask(0117);
    acceptor.bind(local_stream::endpoint(path), ec);
    ::umask(before);
  }
  if (!ec) acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    acceptor.close(ignored);
    throw std::system_error(ec, "cannot listen on the control socket " + path);
  }
  state_->unix_path = path;
  accept_unix(state_);
}

void HttpServer::stop() {
  if (!state_ || state_->stopped) return;
  state_->stopped = true;
  beast::error_code ignored;
  state_->tcp_acceptor.close(ignored);
  state_->unix_acceptor.close(ignored);
  if (!state_->unix_path.empty()) ::unlink(state_->unix_path.c_str());
  for (auto& w : state_->sessions)
    if (auto s = w.lock()) s->close();
  state_->sessions.clear();
}

}  // namespace registrar::status
