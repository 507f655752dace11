// HttpClient against a small in-process HTTP server (TCP and Unix socket): keep-alive, reconnect
// after the server closes, per-request timeouts, cancellation, headers.
#include "registry/http/client.hpp"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <optional>

using namespace registrar::registry::http;
using std::chrono::milliseconds;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

enum class Reply {
  Answer,       // 200, keep-alive
  AnswerClose,  // 200, then the server closes the connection (keep-alive promised)
  ConnClose,    // 200 with "Connection: close"
  Drop,         // close without answering
  Hang,         // never answer
};

template <class Protocol>
class TestServer {
 public:
  using Acceptor = typename Protocol::acceptor;
  using Socket = typename Protocol::socket;

  TestServer(net::io_context& io, typename Protocol::endpoint ep) : io_(io), acceptor_(io, ep) {
    accept();
  }
  typename Protocol::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

  std::function<Reply(const http::request<http::string_body>&)> script = [](const auto&) {
    return Reply::Answer;
  };
  std::vector<http::request<http::string_body>> requests;
  int connections = 0;
  std::vector<std::shared_ptr<Socket>> hung;  // kept open, never answered

 private:
  void accept() {
    acceptor_.async_accept([this](const beast::error_code& ec, Socket s) {
      if (ec) return;
      ++connections;
      serve(std::make_shared<Socket>(std::move(s)), std::make_shared<beast::flat_buffer>());
      accept();
    });
  }
  void serve(std::shared_ptr<Socket> sock, std::shared_ptr<beast::flat_buffer> buf) {
    auto req = std::make_shared<http::request<http::string_body>>();
    http::async_read(
        *sock, *buf, *req, [this, sock, buf, req](const beast::error_code& ec, std::size_t) {
          if (ec) return;
          requests.push_back(*req);
          const Reply reply = script(*req);
          if (reply == Reply::Drop) return sock->close();
          if (reply == Reply::Hang) return hung.push_back(sock);
          auto res = std::make_shared<http::response<http::string_body>>(http::status::ok, 11);
          res->body() = "{\"target\":\"" + std::string(req->target()) + "\"}";
          res->keep_alive(reply != Reply::ConnClose);
          res->prepare_payload();
          http::async_write(
              *sock, *res,
              [this, sock, buf, res, reply](const beast::error_code& ec2, std::size_t) {
                if (ec2) return;
                if (reply == Reply::Answer) return serve(sock, buf);
                beast::error_code ignored;
                sock->shutdown(Socket::shutdown_both, ignored);
                sock->close();
              });
        });
  }

  net::io_context& io_;
  Acceptor acceptor_;
};

using TcpServer = TestServer<net::ip::tcp>;

struct Results {
  std::vector<HttpResult> got;
  HttpTransport::Done collect() {
    return [this](HttpResult r) { got.push_back(std::move(r)); };
  }
};

void run_until(net::io_context& io, const std::function<bool()>& done,
               milliseconds limit = milliseconds(3000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(milliseconds(5));
    io.restart();
  }
}

HttpRequest request(Method method, std::string target, std::string body, std::string token) {
  HttpRequest r{method, std::move(target), std::move(body), {}};
  if (!token.empty()) r.headers.push_back({"X-Consul-Token", std::move(token)});
  return r;
}

HttpRequest get(std::string target, std::string token = "") {
  return request(Method::Get, std::move(target), "", std::move(token));
}

std::string address_of(const TcpServer& s) {
  return "127.0.0.1:" + std::to_string(s.local_endpoint().port());
}

}  // namespace

TEST_CASE("requests share one kept-alive connection and carry the token header") {
  net::io_context io;
  TcpServer server(io, {net::ip::make_address("127.0.0.1"), 0});
  HttpClient client(io.get_executor(), address_of(server), milliseconds(2000));
  Results r;
  client.send(request(Method::Put, "/v1/agent/service/register", "{\"ID\":\"a\"}", "tok"),
              r.collect());
  client.send(get("/v1/agent/services"), r.collect());
  client.send(request(Method::Put, "/v1/agent/service/deregister/a", "", ""), r.collect());
  run_until(io, [&] { return r.got.size() == 3; });
  REQUIRE(r.got.size() == 3);
  for (const auto& res : r.got) {
    CHECK(res.ok());
    CHECK(res.status == 200);
  }
  CHECK(r.got[1].body == "{\"target\":\"/v1/agent/services\"}");
  CHECK(server.connections == 1);
  CHECK(client.connect_count() == 1);
  CHECK(client.reused_count() == 2);
  REQUIRE(server.requests.size() == 3);
  const auto& reg = server.requests[0];
  CHECK(reg.method() == http::verb::put);
  CHECK(reg["X-Consul-Token"] == "tok");
  CHECK(reg[http::field::content_type] == "application/json");
  CHECK(reg.body() == "{\"ID\":\"a\"}");
  CHECK(reg[http::field::host] == address_of(server));
  CHECK(server.requests[1].count("X-Consul-Token") == 0);  // no token: no header
  CHECK(server.requests[2][http::field::content_length] == "0");
}

TEST_CASE("a connection the server closed while idle is reopened, and the request goes through") {
  net::io_context io;
  TcpServer server(io, {net::ip::make_address("127.0.0.1"), 0});
  server.script = [](const auto&) { return Reply::AnswerClose; };
  HttpClient client(io.get_executor(), address_of(server), milliseconds(2000));
  Results r;
  client.send(get("/a"), r.collect());
  run_until(io, [&] { return r.got.size() == 1; });
  io.run_for(milliseconds(20));  // the close reaches us
  io.restart();
  client.send(get("/b"), r.collect());
  run_until(io, [&] { return r.got.size() == 2; });
  REQUIRE(r.got.size() == 2);
  CHECK(r.got[0].ok());
  CHECK(r.got[1].ok());
  CHECK(server.connections == 2);
  CHECK(server.requests.size() == 2);
}

TEST_CASE("Connection: close from the server: the next request opens a new connection") {
  net::io_context io;
  TcpServer server(io, {net::ip::make_address("127.0.0.1"), 0});
  server.script = [](const auto&) { return Reply::ConnClose; };
  HttpClient client(io.get_executor(), address_of(server), milliseconds(2000));
  Results r;
  client.send(get("/a"), r.collect());
  client.send(get("/b"), r.collect());
  run_until(io, [&] { return r.got.size() == 2; });
  REQUIRE(r.got.size() == 2);
  CHECK(r.got[1].ok());
  CHECK(server.connections == 2);
  CHECK(client.reused_count() == 0);
}

TEST_CASE("no answer within the timeout: Timeout, and the next request uses a new connection") {
  net::io_context io;
  TcpServer server(io, {net::ip::make_address("127.0.0.1"), 0});
  int n = 0;
  server.script = [&n](const auto&) { return n++ == 0 ? Reply::Hang : Reply::Answer; };
  HttpClient client(io.get_executor(), address_of(server), milliseconds(100));
  Results r;
  client.send(get("/slow"), r.collect());
  client.send(get("/fast"), r.collect());
  run_until(io, [&] { return r.got.size() == 2; });
  REQUIRE(r.got.size() == 2);
  CHECK(r.got[0].error == HttpResult::Error::Timeout);
  CHECK(r.got[0].error_text == "no answer within 100 ms");
  CHECK(r.got[1].ok());
  CHECK(server.connections == 2);
}

TEST_CASE("a dropped request on a fresh connection is an error, not a silent retry") {
  net::io_context io;
  TcpServer server(io, {net::ip::make_address("127.0.0.1"), 0});
  server.script = [](const auto&) { return Reply::Drop; };
  HttpClient client(io.get_executor(), address_of(server), milliseconds(1000));
  Results r;
  client.send(get("/x"), r.collect());
  run_until(io, [&] { return r.got.size() == 1; });
  REQUIRE(r.got.size() == 1);
  CHECK(r.got[0].error == HttpResult::Error::Closed);
  CHECK(server.requests.size() == 1);
}

TEST_CASE("nothing listening: Connect error") {
  net::io_context io;
  std::uint16_t port = 0;
  {
    net::ip::tcp::acceptor a(io, {net::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  HttpClient client(io.get_executor(), "127.0.0.1:" + std::to_string(port), milliseconds(1000));
  Results r;
  client.send(get("/x"), r.collect());
  run_until(io, [&] { return r.got.size() == 1; });
  REQUIRE(r.got.size() == 1);
  CHECK(r.got[0].error == HttpResult::Error::Connect);
  CHECK_FALSE(r.got[0].answered());
}

TEST_CASE("cancel_all fails the request in flight and the queued ones, later") {
  net::io_context io;
  TcpServer server(io, {net::ip::make_address("127.0.0.1"), 0});
  server.script = [](const auto&) { return Reply::Hang; };
  HttpClient client(io.get_executor(), address_of(server), milliseconds(5000));
  Results r;
  client.send(get("/a"), r.collect());
  client.send(get("/b"), r.collect());
  run_until(io, [&] { return server.requests.size() == 1; });
  client.cancel_all();
  CHECK(r.got.empty());  // never inside the call
  run_until(io, [&] { return r.got.size() == 2; });
  REQUIRE(r.got.size() == 2);
  CHECK(r.got[0].error == HttpResult::Error::Cancelled);
  CHECK(r.got[1].error == HttpResult::Error::Cancelled);
  server.script = [](const auto&) { return Reply::Answer; };
  client.send(get("/c"), r.collect());
  run_until(io, [&] { return r.got.size() == 3; });
  REQUIRE(r.got.size() == 3);
  CHECK(r.got[2].ok());
}

TEST_CASE("a Unix socket address: unix:///path") {
  net::io_context io;
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("registrar-consul-" + std::to_string(::getpid()) + ".sock"))
                               .string();
  std::filesystem::remove(path);
  TestServer<net::local::stream_protocol> server(io, net::local::stream_protocol::endpoint(path));
  HttpClient client(io.get_executor(), "unix://" + path, milliseconds(2000));
  CHECK(client.endpoint() == "unix://" + path);
  Results r;
  client.send(get("/v1/agent/services"), r.collect());
  client.send(get("/v1/agent/checks"), r.collect());
  run_until(io, [&] { return r.got.size() == 2; });
  REQUIRE(r.got.size() == 2);
  CHECK(r.got[0].ok());
  CHECK(r.got[1].body == "{\"target\":\"/v1/agent/checks\"}");
  CHECK(server.connections == 1);
  CHECK(server.requests[0][http::field::host] == "localhost");
  std::filesystem::remove(path);
}
