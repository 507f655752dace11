// watch --exec CMD: runs CMD (with /bin/sh -c) with a set on its stdin, at most one run at a
// time. Sets submitted while a run is going coalesce: once it ends, one more run gets the latest.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <optional>
#include <string>

namespace registrar::cli {

class ExecRunner {
 public:
  // Messages (a failed start, a non-zero exit) go to stderr prefixed by `who`.
  ExecRunner(boost::asio::io_context& ioc, std::string command, std::string who);
  ExecRunner(const ExecRunner&) = delete;
  ExecRunner& operator=(const ExecRunner&) = delete;

  // `input` is the latest set, as CMD should read it.
  void submit(std::string input);
  bool running() const { return pid_ > 0; }

 private:
  void start(const std::string& input);
  void wait_for_exit();
  void exited(int status);

  boost::asio::signal_set sigchld_;
  std::string command_;
  std::string who_;
  pid_t pid_ = -1;
  std::optional<std::string> pending_;
};

}  // namespace registrar::cli
