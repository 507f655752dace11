// The status server against hostile clients, over real loopback TCP and a real Unix socket:
// request smuggling through an unknown Transfer-Encoding, browser-shaped requests, a client
// holding connections, idle connections, and the control socket's mode and peer credentials.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <future>
#include <thread>

#include "status/http_client.hpp"
#include "status/http_server.hpp"
#include "support/raw_tcp.hpp"
#include "support/temp_dir.hpp"

using namespace registrar::status;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using registrar::test::connect_loopback;
using registrar::test::raw_exchange;
using registrar::test::read_to_close;
using registrar::test::TempDir;

namespace {

// A server on 127.0.0.1:0 (and a control socket when asked) whose loop runs on its own thread;
// it remembers the last request's peer and counts the requests its handler saw.
struct HardenedServer {
  asio::io_context io;
  std::unique_ptr<HttpServer> server;
  std::thread thread;
  std::uint16_t port = 0;
  std::atomic<int> handled{0};
  std::promise<Peer> first_peer;
  bool peer_set = false;

  explicit HardenedServer(HttpServerLimits limits = {}, const std::string& socket_path = "") {
    server = std::make_unique<HttpServer>(
        io.get_executor(),
        [this](const HttpRequest& req, std::function<void(HttpResponse)> respond) {
          ++handled;
          if (!peer_set) {
            peer_set = true;
            first_peer.set_value(req.peer);
          }
          HttpResponse r;
          r.body = req.method + " " + req.path;
          respond(r);
        },
        limits);
    server->listen({asio::ip::make_address("127.0.0.1"), 0});
    if (!socket_path.empty()) server->listen_unix(socket_path);
    port = server->local_endpoint().port();
    thread = std::thread([this] {
      auto guard = asio::make_work_guard(io);
      io.run();
    });
  }
  ~HardenedServer() {
    asio::post(io, [this] { server->stop(); });
    io.stop();
    thread.join();
  }
};

// Whether the server closed `fd` (read returns 0 or an error) within `within`.
bool closed_by_server(int fd, std::chrono::milliseconds within) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(within.count())) <= 0) return false;
  char c;
  return ::recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

}  // namespace

TEST_CASE("http: an unknown Transfer-Encoding is 501 and closes, nothing smuggled is served",
          "[status][hardening]") {
  HardenedServer s;
  for (const std::string te : {"xchunked", "gzip", "gzip, chunked"}) {
    INFO(te);
    const std::string out =
        raw_exchange(s.port,
                     "POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                     "\r\nTransfer-Encoding: " +
                         te + "\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    CHECK(out.rfind("HTTP/1.1 501", 0) == 0);
    CHECK(out.find("Connection: close") != std::string::npos);
    CHECK(out.find("HTTP/1.1", 1) == std::string::npos);  // one answer only
    CHECK(out.find("/smuggled") == std::string::npos);
  }
  CHECK(s.handled == 0);
}

TEST_CASE("http: browser-shaped requests never reach a handler", "[status][hardening]") {
  HardenedServer s;
  const std::string form =
      "POST /v1/drain HTTP/1.1\r\nHost: attacker.example\r\nOrigin: http://attacker.example\r\n"
      "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nx=1\r\n";
  CHECK(raw_exchange(s.port, form).rfind("HTTP/1.1 403", 0) == 0);
  // DNS rebinding: the page's own name in Host, no Origin on a simple GET.
  CHECK(raw_exchange(s.port, "GET /v1/services HTTP/1.1\r\nHost: attacker.example:9901\r\n\r\n")
            .rfind("HTTP/1.1 421", 0) == 0);
  CHECK(raw_exchange(s.port,
                     "GET /v1/services HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Sec-Fetch-Mode: no-cors\r\n\r\n")
            .rfind("HTTP/1.1 403", 0) == 0);
  CHECK(s.handled == 0);
  std::string error;
  CHECK(http_request("127.0.0.1", s.port, "GET", "/ok", 5s, error)->status == 200);
  CHECK(s.handled == 1);
}

TEST_CASE("http: a loopback TCP client is known by its user", "[status][hardening]") {
  HardenedServer s;
  std::string error;
  REQUIRE(http_request("127.0.0.1", s.port, "GET", "/who", 5s, error));
  const Peer peer = s.first_peer.get_future().get();
  CHECK_FALSE(peer.control_socket);
  REQUIRE(peer.uid);  // through NETLINK_SOCK_DIAG
  CHECK(*peer.uid == ::geteuid());
  CHECK(peer.client_key() == "uid:" + std::to_string(::geteuid()));
  CHECK(peer.describe().rfind("127.0.0.1:", 0) == 0);
}

TEST_CASE("http: one client cannot hold more than its share, and idle connections go",
          "[status][hardening]") {
  HttpServerLimits limits;
  limits.connections = {4, 2, 1};
  limits.request_timeout = 500ms;
  HardenedServer s(limits);
  // Two idle connections: this client's share.
  const int a = connect_loopback(s.port);
  const int b = connect_loopback(s.port);
  // The third is closed at once, before it can send anything.
  const int c = connect_loopback(s.port);
  CHECK(closed_by_server(c, 5s));
  ::close(c);
  // The idle ones are closed after request_timeout (bounded well above it here), and their
  // places come back.
  CHECK(closed_by_server(a, 5s));
  CHECK(closed_by_server(b, 5s));
  ::close(a);
  ::close(b);
  std::string error;
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {  // the close reaches the loop a moment later
    const auto r = http_request("127.0.0.1", s.port, "GET", "/ok", 5s, error);
    served = r && r->status == 200;
    if (!served) std::this_thread::sleep_for(20ms);
  }
  CHECK(served);
}

TEST_CASE("http: the control socket is 0660, knows its peer and replaces a stale file",
          "[status][hardening]") {
  TempDir dir("registrar-control");
  const std::string path = (dir.path() / "run" / "control.sock").string();  // dir created
  {
    HardenedServer s({}, path);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0660);
    std::string error;
    const auto r = http_request_unix(path, "POST", "/v1/drain", 5s, error);
    INFO(error);
    REQUIRE(r);
    CHECK(r->body == "POST /v1/drain");
    const Peer peer = s.first_peer.get_future().get();
    CHECK(peer.control_socket);
    REQUIRE(peer.uid);
    CHECK(*peer.uid == ::geteuid());
    REQUIRE(peer.pid);
    CHECK(*peer.pid == ::getpid());

    // While it listens, a second server is refused.
    asio::io_context io;
    HttpServer second(io.get_executor(), [](const HttpRequest&, auto respond) { respond({}); });
    CHECK_THROWS_WITH(second.listen_unix(path), Catch::Contains("in use by another process"));
  }
  // stop() removed the file; a stale socket file (a killed daemon's) is replaced.
  CHECK_FALSE(std::filesystem::exists(path));
  {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    ::close(fd);  // bound, never listened: what a SIGKILLed daemon leaves
  }
  HardenedServer again({}, path);
  std::string error;
  CHECK(http_request_unix(path, "GET", "/x", 5s, error));
  // A regular file in the way is not removed.
  const auto file = dir.write_file("not-a-socket", "x");
  asio::io_context io;
  HttpServer third(io.get_executor(), [](const HttpRequest&, auto respond) { respond({}); });
  CHECK_THROWS_WITH(third.listen_unix(file.string()), Catch::Contains("is not a socket"));
  CHECK(std::filesystem::exists(file));
}
