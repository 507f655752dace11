// The Beast server over real loopback TCP, driven by the one-shot client and by a raw socket.
#include "status/http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "status/http_client.hpp"
#include "support/raw_tcp.hpp"

using namespace registrar::status;
using namespace std::chrono_literals;
using registrar::test::raw_exchange;
namespace asio = boost::asio;

namespace {

// A server on 127.0.0.1:0 whose io_context runs on a thread of its own.
struct Server {
  asio::io_context io;
  std::unique_ptr<HttpServer> server;
  std::thread thread;
  std::uint16_t port = 0;
  std::function<void(HttpResponse)> held;  // a response the handler did not give yet

  explicit Server(HttpServerLimits limits = {}) {
    server = std::make_unique<HttpServer>(
        io.get_executor(),
        [this](const HttpRequest& req, std::function<void(HttpResponse)> respond) {
          if (req.path == "/later") {
            held = std::move(respond);
            return;
          }
          HttpResponse r;
          r.body = req.method + " " + req.path + " q=" + req.query + " body=" + req.body;
          respond(r);
        },
        limits);
    server->listen({asio::ip::make_address("127.0.0.1"), 0});
    port = server->local_endpoint().port();
    thread = std::thread([this] {
      auto guard = asio::make_work_guard(io);
      io.run();
    });
  }
  ~Server() {
    asio::post(io, [this] { server->stop(); });
    io.stop();
    thread.join();
  }
  template <class F>
  void on_loop(F f) {
    std::promise<void> done;
    asio::post(io, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }
};

}  // namespace

TEST_CASE("http: a GET and a POST through the one-shot client", "[status]") {
  Server s;
  std::string error;
  auto r = http_request("127.0.0.1", s.port, "GET", "/x?y=1", 5s, error);
  INFO(error);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "GET /x q=y=1 body=");
  r = http_request("127.0.0.1", s.port, "POST", "/drain", 5s, error);
  REQUIRE(r);
  CHECK(r->body == "POST /drain q= body=");
}

TEST_CASE("http: keep-alive serves several requests on one connection", "[status]") {
  Server s;
  const std::string out =
      raw_exchange(s.port,
                   "GET /one HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                   "GET /two HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  CHECK(out.find("GET /one q= body=") != std::string::npos);
  CHECK(out.find("GET /two q= body=") != std::string::npos);
  CHECK(out.find("Cache-Control: no-store") != std::string::npos);
}

TEST_CASE("http: a body over the limit gets 413", "[status]") {
  HttpServerLimits limits;
  limits.max_body_bytes = 10;
  Server s(limits);
  const std::string out =
      raw_exchange(s.port, "POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n" +
                               std::string(100, 'a'));
  CHECK(out.rfind("HTTP/1.1 413", 0) == 0);
}

TEST_CASE("http: garbage is dropped without an answer, and the server keeps serving", "[status]") {
  Server s;
  CHECK(raw_exchange(s.port, "NOT HTTP AT ALL\r\n\r\n").find("200") == std::string::npos);
  std::string error;
  CHECK(http_request("127.0.0.1", s.port, "GET", "/ok", 5s, error));
}

TEST_CASE("http: a handler may answer later", "[status]") {
  Server s;
  auto later = std::async(std::launch::async, [&] {
    std::string error;
    return http_request("127.0.0.1", s.port, "POST", "/later", 10s, error);
  });
  // Wait (bounded) until the handler has been called, then answer from the loop.
  bool held = false;
  for (int i = 0; i < 500 && !held; ++i) {
    s.on_loop([&] { held = static_cast<bool>(s.held); });
    if (!held) std::this_thread::sleep_for(10ms);
  }
  REQUIRE(held);
  s.on_loop([&] {
    HttpResponse r;
    r.status = 202;
    r.body = "done";
    s.held(r);
  });
  const auto r = later.get();
  REQUIRE(r);
  CHECK(r->status == 202);
  CHECK(r->body == "done");
}

TEST_CASE("http: listening on a taken port throws a clear error", "[status]") {
  Server s;
  asio::io_context io;
  HttpServer second(io.get_executor(), [](const HttpRequest&, auto respond) { respond({}); });
  try {
    second.listen({asio::ip::make_address("127.0.0.1"), s.port});
    FAIL("listen succeeded on a taken port");
  } catch (const std::system_error& e) {
    CHECK(std::string(e.what()).find("cannot listen on 127.0.0.1:" + std::to_string(s.port)) !=
          std::string::npos);
  }
}

TEST_CASE("http: the client reports a refused connection", "[status]") {
  std::uint16_t port = 0;
  {
    Server s;
    port = s.port;
  }
  std::string error;
  CHECK_FALSE(http_request("127.0.0.1", port, "GET", "/", 2s, error));
  CHECK(error.find("cannot connect to 127.0.0.1:" + std::to_string(port)) != std::string::npos);
}
