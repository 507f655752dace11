// The notify protocol on a real NOTIFY_SOCKET: a datagram socket bound by the test, the real
// sd_notify(3) from libsystemd sending to it, as systemd's Type=notify would receive.
#include "notify/notifier.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

using namespace registrar::notify;
using namespace std::chrono_literals;

namespace {

// A datagram socket at a fresh path, exported as NOTIFY_SOCKET for the lifetime of the object.
class NotifySocket {
 public:
  NotifySocket() {
    char dir[] = "/tmp/registrar-notify-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    dir_ = dir;
    path_ = dir_ + "/notify.sock";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // The next datagram, waiting at most `timeout`.
  std::optional<std::string> receive(std::chrono::milliseconds timeout = 2s) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<std::size_t>(n));
  }
  bool empty() {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }

 private:
  std::string dir_;
  std::string path_;
  int fd_ = -1;
};

}  // namespace

TEST_CASE("notify: READY, STATUS and STOPPING arrive on NOTIFY_SOCKET", "[notify]") {
  NotifySocket sock;
  boost::asio::io_context io;
  Notifier n(io.get_executor(), make_sd_notify_sink());

  n.ready("1/1 healthy, 1 registered in etcd (up, in sync)");
  CHECK(sock.receive() == "READY=1\nSTATUS=1/1 healthy, 1 registered in etcd (up, in sync)");
  CHECK(n.sent_ready());
  n.ready("again");  // READY is sent once
  CHECK(sock.empty());

  n.status("0/1 healthy\nsecond line");
  CHECK(sock.receive() == "STATUS=0/1 healthy second line");
  n.status("0/1 healthy\nsecond line");  // unchanged: not sent again
  CHECK(sock.empty());

  n.stopping("deregistering");
  CHECK(sock.receive() == "STOPPING=1\nSTATUS=deregistering");
  n.stopping("twice");
  CHECK(sock.empty());
}

TEST_CASE("notify: WATCHDOG=1 at half of WATCHDOG_USEC, from the event loop", "[notify]") {
  NotifySocket sock;
  ::setenv("WATCHDOG_USEC", "200000", 1);  // 200 ms: pings every 100 ms
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  boost::asio::io_context io;
  {
    Notifier n(io.get_executor(), make_sd_notify_sink());
    n.start_watchdog();
    CHECK(n.watchdog_interval() == 200ms);
    CHECK(sock.receive(0ms) == "WATCHDOG=1");  // one at once
    // Later pings come from a timer, so only while the loop runs.
    CHECK(sock.empty());
    int pings = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 300 && pings < 3; ++i) {  // bounded: at most ~3 s
      io.run_for(10ms);
      while (auto m = sock.receive(0ms)) {
        CHECK(*m == "WATCHDOG=1");
        ++pings;
      }
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    CHECK(pings >= 3);
    WARN("MEASURED 3 watchdog pings at WATCHDOG_USEC=200ms took " << took.count() << " ms");
  }
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

TEST_CASE("notify: watchdog pings follow the clock, and stop with the notifier", "[notify]") {
  NotifySocket sock;
  ::setenv("WATCHDOG_USEC", "200000", 1);  // pings every 100 ms of the clock
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  boost::asio::io_context io;
  registrar::runtime::ManualClock clock;
  clock.drive_timers(true);
  const auto pings_after = [&](std::chrono::milliseconds step) {
    clock.advance(step);
    io.poll();
    io.restart();
    int pings = 0;
    while (auto m = sock.receive(0ms)) pings += *m == "WATCHDOG=1";
    return pings;
  };
  {
    Notifier n(io.get_executor(), make_sd_notify_sink(), clock);
    n.start_watchdog();
    CHECK(sock.receive(0ms) == "WATCHDOG=1");  // one at once
    CHECK(pings_after(99ms) == 0);
    CHECK(pings_after(1ms) == 1);
    CHECK(pings_after(100ms) == 1);
    clock.advance(100ms);  // due and posted, but the notifier goes before the loop runs
  }
  CHECK(pings_after(0ms) == 0);
  CHECK(pings_after(1s) == 0);
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

TEST_CASE("notify: the watchdog stays off for another WATCHDOG_PID or without WATCHDOG_USEC",
          "[notify]") {
  NotifySocket sock;
  boost::asio::io_context io;
  {
    Notifier n(io.get_executor(), make_sd_notify_sink());
    n.start_watchdog();
    CHECK(n.watchdog_interval() == 0us);
    CHECK(sock.empty());
  }
  ::setenv("WATCHDOG_USEC", "200000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
  {
    Notifier n(io.get_executor(), make_sd_notify_sink());
    n.start_watchdog();
    CHECK(n.watchdog_interval() == 0us);
    io.run_for(250ms);
    CHECK(sock.empty());
  }
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

TEST_CASE("notify: without NOTIFY_SOCKET nothing is sent and nothing fails", "[notify]") {
  ::unsetenv("NOTIFY_SOCKET");
  auto sink = make_sd_notify_sink();
  CHECK_FALSE(sink->send("READY=1"));
  boost::asio::io_context io;
  Notifier n(io.get_executor(), make_sd_notify_sink());
  n.ready("x");
  n.status("y");
  n.stopping("z");
  n.start_watchdog();
  CHECK(n.watchdog_interval() == 0us);
}

TEST_CASE("notify: STATUS lines are one line of at most 200 bytes, UTF-8 kept whole", "[notify]") {
  CHECK(status_line("a\nb\rc") == "a b c");
  const std::string long_ascii(300, 'x');
  CHECK(status_line(long_ascii).size() == 200);
  std::string utf8(199, 'x');
  utf8 += "\xC3\xA9";  // 'é' straddles byte 200
  CHECK(status_line(utf8) == std::string(199, 'x'));
}
