#include "cli/child_reaper.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

namespace registrar::cli {

ChildReaper::ChildReaper(boost::asio::any_io_executor executor, bool force) {
  if (!force && ::getpid() != 1) return;
  signals_ = std::make_unique<boost::asio::signal_set>(executor, SIGCHLD);
  reap();  // orphans that arrived before the handler
  wait();
}

void ChildReaper::wait() {
  signals_->async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    reap();
    wait();
  });
}

void ChildReaper::reap() {
  // Bounded: each call reaps one exited child; stops when none is left.
  for (int i = 0; i < 4096; ++i) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    ++reaped_;
  }
}

}  // namespace registrar::cli
