#include "cli/json_stderr.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <future>
#include <nlohmann/json.hpp>
#include <string>

#include "runtime/clock.hpp"

namespace registrar::cli {

namespace {

JsonStderr* active = nullptr;  // the one alive (main() makes at most one)

void write_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// Reads `from` to its end, writing each line to `to` as JSON.
void convert(int from, int to, bool timestamps) {
  const auto line = [timestamps](const std::string& text) {
    return json_error_line(
        text, timestamps ? runtime::rfc3339_utc(std::chrono::system_clock::now()) : "");
  };
  std::string pending;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(from, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
      write_all(to, line(pending.substr(0, nl)));
      pending.erase(0, nl + 1);
    }
  }
  if (!pending.empty()) write_all(to, line(pending));
}

}  // namespace

std::string json_error_line(const std::string& line, const std::string& ts) {
  nlohmann::ordered_json j;
  if (!ts.empty()) j["ts"] = ts;
  j["level"] = line.find(": warning: ") != std::string::npos ? "warn" : "error";
  j["msg"] = line;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

JsonStderr::JsonStderr(bool timestamps) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return;
  real_stderr_ = ::fcntl(2, F_DUPFD_CLOEXEC, 3);
  if (real_stderr_ < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return;
  }
  std::fflush(stderr);
  ::dup2(fds[1], 2);  // not close-on-exec: a child's stderr is converted too
  ::close(fds[1]);
  read_end_ = fds[0];
  reader_ = std::thread(
      [from = read_end_, to = real_stderr_, timestamps] { convert(from, to, timestamps); });
  active = this;
}

void finish_json_stderr() {
  if (active != nullptr) active->finish();
}

void JsonStderr::finish() {
  if (active == this) active = nullptr;
  if (!reader_.joinable()) return;
  std::fflush(stderr);
  ::dup2(real_stderr_, 2);  // the pipe's last write end in this process is gone
  // A child that still holds the pipe keeps the reader waiting: give it a moment, then leave it.
  pollfd p{read_end_, POLLIN, 0};
  for (int i = 0; i < 10 && ::poll(&p, 1, 0) >= 0; ++i) {
    if ((p.revents & POLLHUP) != 0) break;
    ::usleep(20'000);
  }
  if ((p.revents & POLLHUP) != 0) {
    reader_.join();
  } else {
    reader_.detach();
  }
}

}  // namespace registrar::cli
