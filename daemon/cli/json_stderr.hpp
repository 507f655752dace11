// `--log-format json` for the one-off subcommands (check, deregister, probe, resolve, watch,
// drain, status): while a JsonStderr lives, every line written to stderr (fd 2, by this process
// and by the pieces it shares with the daemon) reaches the real stderr as one JSON object, as the
// daemon's own log lines: {"ts":"...Z","level":"error","msg":"grpc-registrar check: ..."}. A line
// with ": warning: " is level "warn". stdout, the command's result, is left as it is.
#pragma once

#include <thread>

namespace registrar::cli {

class JsonStderr {
 public:
  // `timestamps`: false for --no-log-timestamps (or under journald).
  explicit JsonStderr(bool timestamps);
  // Restores stderr and writes out what is left (bounded: a child still holding the pipe, e.g.
  // of `watch --exec`, does not hold the exit up).
  ~JsonStderr() { finish(); }
  JsonStderr(const JsonStderr&) = delete;
  JsonStderr& operator=(const JsonStderr&) = delete;

  // What the destructor does; once. leave() (which runs no destructor) calls it through
  // finish_json_stderr(), so that the last lines are not lost.
  void finish();

 private:
  int real_stderr_ = -1;  // a copy of the original fd 2
  int read_end_ = -1;
  std::thread reader_;
};

// finish() of the JsonStderr alive, if any.
void finish_json_stderr();

// One stderr line as a JSON object with its newline; `ts` is "" for none.
std::string json_error_line(const std::string& line, const std::string& ts);

}  // namespace registrar::cli
