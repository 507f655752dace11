// systemd's notify protocol from the real daemon: a datagram socket bound by the test as
// NOTIFY_SOCKET, the way systemd runs a Type=notify service.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "ops_itest.hpp"
#include "support/ports.hpp"

using namespace registrar::itest;

namespace {

class NotifySocket {
 public:
  NotifySocket() : dir_("registrar-notify") {
    path_ = (dir_ / "notify.sock").string();
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~NotifySocket() { ::close(fd_); }
  const std::string& path() const { return path_; }

  // Every datagram received until one contains `needle` (or the deadline); the last one is the
  // match.
  std::vector<std::string> until(const std::string& needle, Millis timeout) {
    std::vector<std::string> got;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (int i = 0; i < 10000; ++i) {
      const auto left =
          std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) != 1) break;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.emplace_back(buf, static_cast<std::size_t>(n));
      if (got.back().find(needle) != std::string::npos) return got;
    }
    return got;
  }

 private:
  TempDir dir_;
  std::string path_;
  int fd_ = -1;
};

bool ends_with(const std::vector<std::string>& got, const std::string& needle) {
  return !got.empty() && got.back().find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("ops notify: READY=1 after the first registration, WATCHDOG=1, STOPPING=1",
          "[ops][notify]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(hello, "hello-1")};
  const ManifestFile file(manifest_yaml(m));
  NotifySocket sock;
  const auto start = std::chrono::steady_clock::now();
  auto d = start_registrar({"run", "-c", file.path().string()},
                           {{"NOTIFY_SOCKET", sock.path()}, {"WATCHDOG_USEC", "400000"}});
  DumpOnFailure dump(*d);

  auto got = sock.until("READY=1", 10s);
  REQUIRE(ends_with(got, "READY=1"));
  record_ms("exec to READY=1",
            std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start).count());
  CHECK(got.back() == "READY=1\nSTATUS=1/1 healthy, 1 registered in etcd (up, in sync)");
  // READY comes after the registration, never before: the key is there.
  CHECK(etcd.ctl().get("/services/hello/hello-1"));

  // Pings at half of WATCHDOG_USEC; two in a row prove the timer.
  got = sock.until("WATCHDOG=1", 5s);
  CHECK(ends_with(got, "WATCHDOG=1"));
  got = sock.until("WATCHDOG=1", 5s);
  CHECK(ends_with(got, "WATCHDOG=1"));

  // STATUS follows the service.
  hello.set_serving(false);
  got = sock.until("STATUS=0/1 healthy, 0 registered", 10s);
  CHECK(ends_with(got, "STATUS=0/1 healthy, 0 registered in etcd (up, in sync)"));

  d->signal(SIGTERM);
  got = sock.until("STOPPING=1", 10s);
  REQUIRE(ends_with(got, "STOPPING=1"));
  CHECK(got.back().rfind("STOPPING=1\nSTATUS=stopping: deregistering", 0) == 0);
  const auto st = d->wait_exit(10s);
  REQUIRE(st);
  CHECK(st->exited_with(0));
}

TEST_CASE("ops notify: READY=1 also when the registry is known to be down", "[ops][notify]") {
  if (!have_binaries()) return;
  HelloService hello;
  ManifestParams m;
  m.endpoints = {"127.0.0.1:" + std::to_string(free_port())};  // nothing listens
  m.dial_timeout = "300ms";
  m.services = {entry_for(hello, "hello-1")};
  const ManifestFile file(manifest_yaml(m));
  NotifySocket sock;
  auto d = start_registrar({"run", "-c", file.path().string()}, {{"NOTIFY_SOCKET", sock.path()}});
  DumpOnFailure dump(*d);
  const auto got = sock.until("READY=1", 10s);
  REQUIRE(ends_with(got, "READY=1"));
  CHECK(got.back().find("STATUS=1/1 healthy, 0 registered in etcd (down)") != std::string::npos);
  d->signal(SIGTERM);
  const auto st = d->wait_exit(15s);
  REQUIRE(st);
  CHECK(st->exited_with(0));
}
