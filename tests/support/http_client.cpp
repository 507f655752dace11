#include "support/http_client.hpp"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <cstdio>

namespace registrar::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::optional<std::string> HttpResponse::header(const std::string& name) const {
  const auto it = headers.find(lower(name));
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

std::string url_encode(const std::string& s) {
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// One connection with its own io_context: each operation runs asynchronously under
// expires_after and is driven to completion by run(), so the caller sees a synchronous call
// bounded in time.
struct HttpClient::Connection {
  using TlsStream = beast::ssl_stream<beast::tcp_stream>;
  asio::io_context ioc;
  std::unique_ptr<asio::ssl::context> ctx;  // outlives `secure`
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<TlsStream> secure;
  beast::flat_buffer buffer;

  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  void run(const std::string& what, beast::error_code& ec) {
    ioc.restart();
    ioc.run();
    if (ec) throw HttpTransportError(what + ": " + ec.message());
  }

  void make_tls(const HttpTls& tls, const std::string& host) {
    ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    beast::error_code ec;
    if (!tls.ca.empty()) {
      ctx->load_verify_file(tls.ca.string(), ec);
      if (ec) throw HttpTransportError("TLS: CA " + tls.ca.string() + ": " + ec.message());
      ctx->set_verify_mode(asio::ssl::verify_peer);
    } else {
      ctx->set_verify_mode(asio::ssl::verify_none);
    }
    if (!tls.cert.empty()) {
      ctx->use_certificate_chain_file(tls.cert.string(), ec);
      if (!ec) ctx->use_private_key_file(tls.key.string(), asio::ssl::context::pem, ec);
      if (ec)
        throw HttpTransportError("TLS: client certificate " + tls.cert.string() + ": " +
                                 ec.message());
    }
    secure = std::make_unique<TlsStream>(ioc, *ctx);
    const std::string name = tls.server_name.empty() ? host : tls.server_name;
    beast::error_code parse;
    asio::ip::make_address(name, parse);
    if (parse) SSL_set_tlsext_host_name(secure->native_handle(), name.c_str());  // DNS names only
    if (!tls.ca.empty()) secure->set_verify_callback(asio::ssl::host_name_verification(name));
  }

  void connect(const std::string& host, std::uint16_t port, Millis timeout, const HttpTls* tls) {
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    const auto endpoints = resolver.resolve(host, std::to_string(port), ec);
    if (ec) throw HttpTransportError("resolve " + host + ": " + ec.message());
    if (tls)
      make_tls(*tls, host);
    else
      plain = std::make_unique<beast::tcp_stream>(ioc);
    const std::string where = host + ":" + std::to_string(port);
    lowest().expires_after(timeout);
    lowest().async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    run("connect " + where, ec);
    if (!secure) return;
    lowest().expires_after(timeout);
    secure->async_handshake(asio::ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
    run("TLS handshake with " + where, ec);
  }

  template <class Stream>
  HttpResponse exchange_on(Stream& stream, http::request<http::string_body>& req, Millis timeout) {
    beast::error_code ec;
    lowest().expires_after(timeout);
    http::async_write(stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
    run("write " + std::string(req.method_string()) + " " + std::string(req.target()), ec);

    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    lowest().expires_after(timeout);
    http::async_read(stream, buffer, parser, [&](beast::error_code e, std::size_t) { ec = e; });
    run("read answer to " + std::string(req.method_string()) + " " + std::string(req.target()), ec);

    const auto& res = parser.get();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      const std::string name = lower(std::string(field.name_string()));
      auto [it, inserted] = out.headers.emplace(name, std::string(field.value()));
      if (!inserted) it->second += ", " + std::string(field.value());
    }
    out.body = res.body();
    return out;
  }

  HttpResponse exchange(http::request<http::string_body>& req, Millis timeout) {
    if (secure) return exchange_on(*secure, req, timeout);
    return exchange_on(*plain, req, timeout);
  }

  bool reusable() { return lowest().socket().is_open(); }

  ~Connection() {
    beast::error_code ec;
    if (!secure && !plain) return;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().socket().close(ec);
  }
};

HttpClient::HttpClient(std::string host, std::uint16_t port, Millis timeout, bool keep_alive)
    : host_(std::move(host)), port_(port), timeout_(timeout), keep_alive_(keep_alive) {}

HttpClient::HttpClient(std::string host, std::uint16_t port, Millis timeout, bool keep_alive,
                       HttpTls tls)
    : host_(std::move(host)),
      port_(port),
      timeout_(timeout),
      keep_alive_(keep_alive),
      tls_(std::move(tls)) {}

HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

HttpResponse HttpClient::request(const std::string& method, const std::string& target,
                                 const std::string& body, const HttpHeaders& headers) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, host_ + ":" + std::to_string(port_));
  req.set(http::field::user_agent, "registrar-test-http-client");
  req.keep_alive(keep_alive_);
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  if (!body.empty() || method == "PUT" || method == "POST") req.prepare_payload();

  std::unique_ptr<Connection> conn;
  if (keep_alive_ && connection_ && connection_->reusable()) {
    conn = std::move(connection_);
  } else {
    connection_.reset();
    conn = std::make_unique<Connection>();
    conn->connect(host_, port_, timeout_, tls_ ? &*tls_ : nullptr);
  }
  HttpResponse res = conn->exchange(req, timeout_);  // throws: conn is dropped
  const auto connection_header = res.header("connection");
  const bool server_closes = connection_header && lower(*connection_header) == "close";
  if (keep_alive_ && !server_closes) connection_ = std::move(conn);
  return res;
}

}  // namespace registrar::test
