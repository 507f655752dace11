#include "cli/exec_runner.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

namespace registrar::cli {

ExecRunner::ExecRunner(boost::asio::io_context& ioc, std::string command, std::string who)
    : sigchld_(ioc, SIGCHLD), command_(std::move(command)), who_(std::move(who)) {}

void ExecRunner::submit(std::string input) {
  if (running()) {
    pending_ = std::move(input);  // replaces a set that never ran: only the latest matters
    return;
  }
  start(input);
}

void ExecRunner::start(const std::string& input) {
  // The set goes through an unlinked temporary file, not a pipe: a command that does not read
  // its stdin can never block the watch.
  std::FILE* file = std::tmpfile();
  if (file == nullptr || std::fwrite(input.data(), 1, input.size(), file) != input.size() ||
      std::fflush(file) != 0 || std::fseek(file, 0, SEEK_SET) != 0) {
    std::fprintf(stderr, "%s: --exec: cannot write the set to a temporary file: %s\n", who_.c_str(),
                 std::strerror(errno));
    if (file != nullptr) std::fclose(file);
    return;
  }
  const int fd = fileno(file);
  std::fflush(stdout);  // the child inherits no buffered output of ours
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fd, STDIN_FILENO);
    ::execl("/bin/sh", "sh", "-c", command_.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::fclose(file);
  if (pid < 0) {
    std::fprintf(stderr, "%s: --exec: fork failed: %s\n", who_.c_str(), std::strerror(errno));
    return;
  }
  pid_ = pid;
  wait_for_exit();
}

void ExecRunner::wait_for_exit() {
  // A SIGCHLD may have come before this wait was set up: look first, then wait for the next.
  int status = 0;
  const pid_t done = ::waitpid(pid_, &status, WNOHANG);
  if (done == pid_ || (done < 0 && errno == ECHILD)) return exited(done == pid_ ? status : 0);
  sigchld_.async_wait([this](const boost::system::error_code& ec, int) {
    if (!ec) wait_for_exit();
  });
}

void ExecRunner::exited(int status) {
  pid_ = -1;
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    std::fprintf(stderr, "%s: --exec: the command exited with status %d\n", who_.c_str(),
                 WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    std::fprintf(stderr, "%s: --exec: the command was killed by signal %d\n", who_.c_str(),
                 WTERMSIG(status));
  if (pending_) {
    std::string next = std::move(*pending_);
    pending_.reset();
    start(next);
  }
}

}  // namespace registrar::cli
