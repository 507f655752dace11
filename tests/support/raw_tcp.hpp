// Raw TCP on loopback, for tests that must send bytes no HTTP client would (a smuggled request,
// a bad Transfer-Encoding, a flood of idle connections): connect with a receive timeout, write,
// and read until the peer closes. Header-only: unit tests use it without the test-support library.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

namespace registrar::test {

// A connected socket to 127.0.0.1:port whose reads give up after 5 s.
inline int connect_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

// Everything the peer sends on `fd` until it closes the connection (or a read times out).
inline std::string read_to_close(int fd) {
  std::string out;
  char buf[4096];
  for (int i = 0; i < 1000; ++i) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// Writes `raw` on a fresh connection to 127.0.0.1:port; the whole answer, up to the close.
inline std::string raw_exchange(std::uint16_t port, const std::string& raw) {
  const int fd = connect_loopback(port);
  REQUIRE(::write(fd, raw.data(), raw.size()) == static_cast<ssize_t>(raw.size()));
  std::string out = read_to_close(fd);
  ::close(fd);
  return out;
}

}  // namespace registrar::test
