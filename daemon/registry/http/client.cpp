#include "registry/http/client.hpp"

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <deque>
#include <optional>

#include "registry/http/tls_context.hpp"

namespace registrar::registry::http {

const char* to_string(Method m) {
  switch (m) {
    case Method::Get:
      return "GET";
    case Method::Put:
      return "PUT";
    case Method::Post:
      return "POST";
    case Method::Delete:
      return "DELETE";
  }
  return "?";
}

namespace {

std::string find_header(const std::vector<Header>& headers, std::string_view name) {
  for (const Header& h : headers) {
    if (h.name.size() == name.size() &&
        std::equal(h.name.begin(), h.name.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        }))
      return h.value;
  }
  return "";
}

}  // namespace

std::string HttpRequest::header(std::string_view name) const {
  return find_header(headers, name);
}

std::string HttpResult::header(std::string_view name) const {
  return find_header(headers, name);
}

const char* to_string(HttpResult::Error e) {
  switch (e) {
    case HttpResult::Error::None:
      return "none";
    case HttpResult::Error::Timeout:
      return "timeout";
    case HttpResult::Error::Connect:
      return "connect";
    case HttpResult::Error::Closed:
      return "closed";
    case HttpResult::Error::Cancelled:
      return "cancelled";
  }
  return "?";
}

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;
using local_protocol = net::local::stream_protocol;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kBodyLimit = 16 * 1024 * 1024;

struct Endpoint {
  bool unix_socket = false;
  std::string path;  // unix
  std::string host;  // tcp, without brackets
  std::string port;
  std::string host_header;
};

Endpoint parse_address(const std::string& address) {
  Endpoint ep;
  constexpr std::string_view kUnix = "unix://";
  if (address.rfind(kUnix, 0) == 0) {
    ep.unix_socket = true;
    ep.path = address.substr(kUnix.size());
    ep.host_header = "localhost";
    return ep;
  }
  std::string rest = address;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  if (rest.rfind("https://", 0) == 0) rest = rest.substr(8);
  const std::size_t colon = rest.rfind(':');
  ep.host = colon == std::string::npos ? rest : rest.substr(0, colon);
  ep.port = colon == std::string::npos ? "8500" : rest.substr(colon + 1);
  ep.host_header = rest;
  if (ep.host.size() >= 2 && ep.host.front() == '[' && ep.host.back() == ']')
    ep.host = ep.host.substr(1, ep.host.size() - 2);
  return ep;
}

// One connection to the agent; outlives the client's interest in it while operations on it are
// still pending. Exactly one of tcp, tls and local is set.
struct Conn {
  using TlsStream = beast::ssl_stream<beast::tcp_stream>;
  std::unique_ptr<beast::tcp_stream> tcp;
  std::shared_ptr<net::ssl::context> tls_context;  // outlives `tls`
  std::unique_ptr<TlsStream> tls;
  std::unique_ptr<beast::basic_stream<local_protocol>> local;
  beast::flat_buffer buffer;

  template <class F>
  void with_stream(F&& f) {
    if (tls)
      f(*tls);
    else if (tcp)
      f(*tcp);
    else
      f(*local);
  }
  void expires_at(Clock::time_point t) {
    if (tls)
      beast::get_lowest_layer(*tls).expires_at(t);
    else if (tcp)
      tcp->expires_at(t);
    else if (local)
      local->expires_at(t);
  }
  void close() {
    beast::error_code ec;
    if (tcp) tcp->socket().close(ec);
    if (tls) beast::get_lowest_layer(*tls).socket().close(ec);
    if (local) local->socket().close(ec);
  }
};

struct Call {
  HttpTransport::Done done;
  bhttp::request<bhttp::string_body> req;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser;
  std::shared_ptr<Conn> conn;
  Clock::time_point deadline;
  std::chrono::milliseconds timeout{0};
  bool reused = false;
  bool retried = false;
  bool resolve_timed_out = false;
  std::uint64_t generation = 0;
};

bool is_closed_error(const beast::error_code& ec) {
  // Over TLS, a peer that closes without close_notify reads as "stream truncated" (or, from
  // OpenSSL 3, "unexpected eof while reading").
  return ec == bhttp::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::connection_aborted || ec == bhttp::error::partial_message ||
         ec == net::ssl::error::stream_truncated ||
         (ec.category() == net::error::get_ssl_category() &&
          ERR_GET_REASON(static_cast<unsigned long>(ec.value())) ==
              SSL_R_UNEXPECTED_EOF_WHILE_READING);
}

bhttp::verb verb(Method m) {
  switch (m) {
    case Method::Get:
      return bhttp::verb::get;
    case Method::Put:
      return bhttp::verb::put;
    case Method::Post:
      return bhttp::verb::post;
    case Method::Delete:
      return bhttp::verb::delete_;
  }
  return bhttp::verb::get;
}

}  // namespace

struct HttpClient::Impl : std::enable_shared_from_this<HttpClient::Impl> {
  Impl(net::any_io_executor executor, const std::string& address, std::chrono::milliseconds t,
       const config::TlsSpec& tls_spec, TlsNames tls_names)
      : ex(executor),
        ep(parse_address(address)),
        endpoint_text(address),
        tls(tls_spec),
        names(std::move(tls_names)),
        timeout(t),
        resolver(executor),
        resolve_timer(executor) {
    if (tls.enabled && !ep.unix_socket) {
      peer = tls_peer(tls, ep.host);
      if (endpoint_text.rfind("https://", 0) != 0) endpoint_text = "https://" + endpoint_text;
    } else {
      tls.enabled = false;  // the manifest refuses TLS over a unix socket
    }
  }

  net::any_io_executor ex;
  Endpoint ep;
  std::string endpoint_text;
  config::TlsSpec tls;
  TlsNames names;
  TlsPeer peer;
  std::chrono::milliseconds timeout;
  tcp::resolver resolver;
  net::steady_timer resolve_timer;
  std::deque<std::pair<HttpRequest, Done>> queue;
  std::shared_ptr<Call> current;
  std::shared_ptr<Conn> conn;  // the open keep-alive connection, if any
  std::uint64_t generation = 0;
  std::size_t reused = 0;
  std::size_t connects = 0;

  bool stale(const std::shared_ptr<Call>& c) const { return c->generation != generation; }

  void pump() {
    if (current || queue.empty()) return;
    auto [request, done] = std::move(queue.front());
    queue.pop_front();
    auto c = std::make_shared<Call>();
    c->done = std::move(done);
    c->generation = generation;
    c->timeout = timeout;
    c->deadline = Clock::now() + timeout;
    c->req.method(verb(request.method));
    c->req.target(request.target);
    c->req.version(11);
    c->req.set(bhttp::field::host, ep.host_header);
    c->req.set(bhttp::field::user_agent, "grpc-registrar");
    for (const Header& h : request.headers) c->req.set(h.name, h.value);
    if (!request.body.empty()) c->req.set(bhttp::field::content_type, request.content_type);
    c->req.body() = std::move(request.body);
    c->req.keep_alive(true);
    c->req.prepare_payload();
    current = c;
    if (conn) {
      c->conn = conn;
      c->reused = true;
      write(c);
    } else {
      connect(c);
    }
  }

  void connect(const std::shared_ptr<Call>& c) {
    auto cn = std::make_shared<Conn>();
    c->conn = cn;
    c->reused = false;
    ++connects;
    auto self = shared_from_this();
    if (ep.unix_socket) {
      cn->local = std::make_unique<beast::basic_stream<local_protocol>>(ex);
      cn->local->expires_at(c->deadline);
      cn->local->async_connect(local_protocol::endpoint(ep.path),
                               [self, c](const beast::error_code& ec) {
                                 if (self->stale(c)) return;
                                 self->connected(c, ec);
                               });
      return;
    }
    if (tls.enabled) {
      // The files are read now, for this connection: rotation needs no restart.
      std::string error;
      cn->tls_context = make_tls_context(tls, names, error);
      if (!cn->tls_context) {
        // Posted, so that a queue of requests failing alike does not recurse through pump().
        return net::post(ex, [self, c, error] {
          if (!self->stale(c)) self->finish(c, failure(HttpResult::Error::Connect, error));
        });
      }
    }
    c->resolve_timed_out = false;
    resolve_timer.expires_at(c->deadline);
    resolve_timer.async_wait([self, c](const beast::error_code& ec) {
      if (ec || self->stale(c)) return;
      c->resolve_timed_out = true;
      self->resolver.cancel();
    });
    resolver.async_resolve(
        ep.host, ep.port,
        [self, c](const beast::error_code& ec, const tcp::resolver::results_type& results) {
          if (self->stale(c)) return;
          self->resolve_timer.cancel();
          if (ec) {
            if (c->resolve_timed_out) return self->finish(c, timed_out(c));
            return self->finish(
                c, failure(HttpResult::Error::Connect,
                           "cannot resolve \"" + self->ep.host + "\": " + ec.message()));
          }
          auto on_connect = [self, c](const beast::error_code& ec2, const tcp::endpoint&) {
            if (self->stale(c)) return;
            if (!ec2 && c->conn->tls) return self->handshake(c);
            self->connected(c, ec2);
          };
          if (self->tls.enabled) {
            c->conn->tls = std::make_unique<Conn::TlsStream>(self->ex, *c->conn->tls_context);
            if (std::string why = prepare_tls_connection(c->conn->tls->native_handle(), self->peer,
                                                         !self->tls.insecure_skip_verify);
                !why.empty())
              return self->finish(c, failure(HttpResult::Error::Connect, why));
            beast::get_lowest_layer(*c->conn->tls).expires_at(c->deadline);
            beast::get_lowest_layer(*c->conn->tls).async_connect(results, on_connect);
            return;
          }
          c->conn->tcp = std::make_unique<beast::tcp_stream>(self->ex);
          c->conn->tcp->expires_at(c->deadline);
          c->conn->tcp->async_connect(results, on_connect);
        });
  }

  void handshake(const std::shared_ptr<Call>& c) {
    auto self = shared_from_this();
    c->conn->expires_at(c->deadline);
    c->conn->tls->async_handshake(net::ssl::stream_base::client,
                                  [self, c](const beast::error_code& ec) {
                                    if (self->stale(c)) return;
                                    if (ec == beast::error::timeout)
                                      return self->finish(c, timed_out(c));
                                    if (ec) return self->finish(c, self->tls_failure(c, ec));
                                    self->connected(c, ec);
                                  });
  }

  HttpResult tls_failure(const std::shared_ptr<Call>& c, const beast::error_code& ec) const {
    const long verify =
        c->conn && c->conn->tls ? SSL_get_verify_result(c->conn->tls->native_handle()) : X509_V_OK;
    return failure(HttpResult::Error::Connect, describe_tls_failure(ec, verify, tls, peer, names));
  }

  void connected(const std::shared_ptr<Call>& c, const beast::error_code& ec) {
    if (ec == beast::error::timeout) return finish(c, timed_out(c));
    if (ec) return finish(c, failure(HttpResult::Error::Connect, "connect: " + ec.message()));
    conn = c->conn;
    write(c);
  }

  void write(const std::shared_ptr<Call>& c) {
    auto self = shared_from_this();
    c->conn->expires_at(c->deadline);
    c->conn->with_stream([&](auto& s) {
      bhttp::async_write(s, c->req, [self, c](const beast::error_code& ec, std::size_t) {
        if (self->stale(c)) return;
        if (ec) return self->io_failed(c, ec);
        self->read(c);
      });
    });
  }

  void read(const std::shared_ptr<Call>& c) {
    c->parser.emplace();
    c->parser->body_limit(kBodyLimit);
    auto self = shared_from_this();
    c->conn->expires_at(c->deadline);
    c->conn->with_stream([&](auto& s) {
      bhttp::async_read(
          s, c->conn->buffer, *c->parser, [self, c](const beast::error_code& ec, std::size_t) {
            if (self->stale(c)) return;
            if (ec) return self->io_failed(c, ec);
            auto& res = c->parser->get();
            HttpResult r;
            r.status = static_cast<int>(res.result_int());
            r.body = std::move(res.body());
            for (const auto& field : res)
              r.headers.push_back({std::string(field.name_string()), std::string(field.value())});
            if (c->reused) ++self->reused;
            if (!res.keep_alive()) self->drop(c->conn);
            self->finish(c, std::move(r));
          });
    });
  }

  void io_failed(const std::shared_ptr<Call>& c, const beast::error_code& ec) {
    drop(c->conn);
    // A keep-alive connection the agent closed while it was idle: send once more on a new one.
    const bool answered_partly = c->parser && c->parser->got_some();
    if (c->reused && !c->retried && is_closed_error(ec) && !answered_partly &&
        Clock::now() < c->deadline) {
      c->retried = true;
      return connect(c);
    }
    if (ec == beast::error::timeout) return finish(c, timed_out(c));
    // A TLS 1.3 agent checks the client certificate after our side of the handshake is done:
    // its refusal arrives as an alert on the first read of a new connection, or, when the
    // agent's close resets the connection first, as a closed connection with no answer. Both
    // get the same sentence, so that the log does not flip between two causes of one problem.
    if (c->conn->tls && !c->reused && is_tls_error(ec) && !is_closed_error(ec))
      return finish(c, tls_failure(c, ec));
    if (is_closed_error(ec) && c->conn->tls && !c->reused && !answered_partly)
      return finish(
          c, failure(HttpResult::Error::Closed, describe_client_certificate_refused(tls, names)));
    if (is_closed_error(ec))
      return finish(c, failure(HttpResult::Error::Closed,
                               "the agent closed the connection (" + ec.message() + ")"));
    finish(c, failure(HttpResult::Error::Closed, ec.message()));
  }

  void drop(const std::shared_ptr<Conn>& cn) {
    if (!cn) return;
    cn->close();
    if (conn == cn) conn.reset();
  }

  static HttpResult failure(HttpResult::Error e, std::string text) {
    HttpResult r;
    r.error = e;
    r.error_text = std::move(text);
    return r;
  }
  static HttpResult timed_out(const std::shared_ptr<Call>& c) {
    return failure(HttpResult::Error::Timeout,
                   "no answer within " + std::to_string(c->timeout.count()) + " ms");
  }

  void finish(const std::shared_ptr<Call>& c, HttpResult r) {
    if (current == c) current.reset();
    if (r.error == HttpResult::Error::Timeout || r.error == HttpResult::Error::Connect)
      drop(c->conn);
    net::post(ex, [done = std::move(c->done), r = std::move(r)]() mutable { done(std::move(r)); });
    pump();
  }

  void abort_all(bool notify) {
    ++generation;
    resolver.cancel();
    resolve_timer.cancel();
    if (conn) conn->close();
    conn.reset();
    std::vector<Done> dones;
    if (current) {
      if (current->conn) current->conn->close();
      dones.push_back(std::move(current->done));
      current.reset();
    }
    for (auto& [req, done] : queue) dones.push_back(std::move(done));
    queue.clear();
    if (!notify) return;
    for (auto& done : dones)
      net::post(ex, [done = std::move(done)] {
        done(failure(HttpResult::Error::Cancelled, "cancelled"));
      });
  }
};

HttpClient::HttpClient(boost::asio::any_io_executor executor, const std::string& address,
                       std::chrono::milliseconds timeout, const config::TlsSpec& tls,
                       TlsNames tls_names)
    : impl_(std::make_shared<Impl>(executor, address, timeout, tls, std::move(tls_names))) {}

HttpClient::~HttpClient() {
  impl_->abort_all(false);
}

void HttpClient::send(HttpRequest req, Done done) {
  impl_->queue.emplace_back(std::move(req), std::move(done));
  impl_->pump();
}

void HttpClient::cancel_all() {
  impl_->abort_all(true);
}

const std::string& HttpClient::endpoint() const {
  return impl_->endpoint_text;
}

std::size_t HttpClient::reused_count() const {
  return impl_->reused;
}

std::size_t HttpClient::connect_count() const {
  return impl_->connects;
}

}  // namespace registrar::registry::http
