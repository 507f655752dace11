#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "support/ports.hpp"
#include "support/temp_dir.hpp"
#include "support/wait.hpp"

using namespace registrar::test;

namespace {
// A listening socket on 127.0.0.1:port, closed on scope exit.
struct Listener {
  int fd = -1;
  explicit Listener(std::uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd, 4) == 0;
  }
  ~Listener() { ::close(fd); }
  bool ok = false;
};
}  // namespace

TEST_CASE("ports: free_port gives a bindable loopback port, free_ports are distinct", "[ports]") {
  const std::uint16_t port = free_port();
  REQUIRE(port != 0);
  CHECK_FALSE(port_accepts(port));
  {
    Listener l(port);
    REQUIRE(l.ok);
    CHECK(port_accepts(port));
  }
  CHECK_FALSE(port_accepts(port));
  const auto ports = free_ports(4);
  CHECK(std::set<std::uint16_t>(ports.begin(), ports.end()).size() == 4);
}

TEST_CASE("temp_dir: created, writable, removed with its content, movable", "[temp_dir]") {
  std::filesystem::path p;
  {
    TempDir d("selftest");
    p = d.path();
    REQUIRE(std::filesystem::is_directory(p));
    CHECK(p.filename().string().rfind("selftest-", 0) == 0);
    const auto f = d.write_file("a.txt", "hello\n");
    std::filesystem::create_directories(d / "sub" / "deeper");
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    CHECK(ss.str() == "hello\n");
    TempDir moved(std::move(d));
    CHECK(moved.path() == p);
    CHECK(d.path().empty());  // NOLINT(bugprone-use-after-move): moved-from state is defined
  }
  CHECK_FALSE(std::filesystem::exists(p));
}

TEST_CASE("wait: wait_until returns true as soon as the predicate holds", "[wait]") {
  int calls = 0;
  CHECK(wait_until([&] { return ++calls >= 3; }, 10s, 1ms));
  CHECK(calls == 3);
}

TEST_CASE("wait: wait_until is bounded in count and gives up at the deadline", "[wait]") {
  int calls = 0;
  CHECK_FALSE(wait_until(
      [&] {
        ++calls;
        return false;
      },
      100ms, 10ms));
  CHECK(calls >= 2);
  CHECK(calls <= 100 / 10 + 3);
}

TEST_CASE("wait: wait_for_value returns the first engaged value", "[wait]") {
  int calls = 0;
  const auto v = wait_for_value(
      [&]() -> std::optional<int> {
        ++calls;
        return calls == 4 ? std::optional<int>(42) : std::nullopt;
      },
      10s, 1ms);
  REQUIRE(v.has_value());
  CHECK(*v == 42);
  const auto none = wait_for_value([]() -> std::optional<int> { return std::nullopt; }, 50ms, 5ms);
  CHECK_FALSE(none.has_value());
}
