#include "cli/signal_daemon.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

namespace registrar::cli {

namespace {

constexpr std::string_view kDeleted = " (deleted)";  // an executable replaced by an upgrade

std::string program_name(std::string path) {
  if (path.ends_with(kDeleted)) path.resize(path.size() - kDeleted.size());
  return std::filesystem::path(path).filename().string();
}

// The executable's path, or nullopt with `error` set to errno.
std::optional<std::string> exe_of(const std::string& proc, int& error) {
  std::error_code ec;
  const auto target = std::filesystem::read_symlink(proc + "/exe", ec);
  if (ec) {
    error = ec.value();
    return std::nullopt;
  }
  return target.string();
}

std::string comm_of(const std::string& proc) {
  std::ifstream in(proc + "/comm");
  std::string line;
  std::getline(in, line);
  return line;
}

bool is_registrar(const std::string& name) {
  int error = 0;
  const auto self = exe_of("/proc/self", error);
  return name == "grpc-registrar" || (self && name == program_name(*self));
}

// "" when `pid` runs a grpc-registrar, else why not.
std::string check(int pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  int error = 0;
  if (const auto exe = exe_of(proc, error)) {
    if (is_registrar(program_name(*exe))) return "";
    return "process " + std::to_string(pid) + " is " + *exe + ", not grpc-registrar; nothing sent";
  }
  if (error == ENOENT) return "no process " + std::to_string(pid);
  // Another user's process (no ptrace access to its exe link): its name is still readable.
  const std::string comm = comm_of(proc);
  if (comm.empty()) return "no process " + std::to_string(pid);
  if (is_registrar(comm)) return "";
  return "process " + std::to_string(pid) + " is \"" + comm +
         "\", not grpc-registrar; nothing sent";
}

// glibc 2.36's <sys/pidfd.h> (bookworm) declares these without extern "C": the raw system calls
// (Linux 5.3 and later; ENOSYS before, and then kill() is used, without the reuse guard).
int open_pidfd(int pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

int send_via_pidfd(int fd, int signal) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, fd, signal, nullptr, 0));
}

}  // namespace

std::string signal_daemon(int pid, int signal) {
  const int fd = open_pidfd(pid);
  if (fd < 0) {
    if (errno == ESRCH) return "no process " + std::to_string(pid);
    if (errno != ENOSYS)
      return "cannot signal process " + std::to_string(pid) + ": " + std::strerror(errno);
  }
  std::string why = check(pid);
  if (why.empty()) {
    const int rc = fd >= 0 ? send_via_pidfd(fd, signal) : ::kill(static_cast<pid_t>(pid), signal);
    if (rc != 0) why = "cannot signal process " + std::to_string(pid) + ": " + std::strerror(errno);
  }
  if (fd >= 0) ::close(fd);
  return why;
}

}  // namespace registrar::cli
