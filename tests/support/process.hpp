// Process: a child started with posix_spawn in its own process group, stdout and stderr
// captured to files in a private temp dir. The destructor SIGKILLs the group and reaps the
// child, so no test leaks a process even when an assertion throws.
//
// Output collection: when $REGISTRAR_TEST_OUTPUT_DIR names a directory (scripts/test sets it),
// both capture files are also linked into it (a hard link made before the child starts, a copy
// at destruction when the directory is on another file system), named
// "<test binary>.<its pid>.<counter>.<label>.stdout" (and ".stderr"). They outlive the private
// temp dir, so after the whole suite scripts/scan-secrets sees every line every daemon, etcd,
// Consul double and command (run_command) wrote.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "support/temp_dir.hpp"
#include "support/wait.hpp"

namespace registrar::test {

struct ExitStatus {
  bool signaled = false;  // killed by a signal (value = signal number) or exited (value = code)
  int value = 0;

  bool exited_with(int code) const { return !signaled && value == code; }
  bool killed_by(int sig) const { return signaled && value == sig; }
  std::string describe() const;  // "exit 0", "signal 9 (Killed)"
  friend bool operator==(const ExitStatus&, const ExitStatus&) = default;
};

enum class Stream { Stdout, Stderr };

// A line found by wait_for_line: the whole line (without '\n'), the regex's capture groups
// (groups[0] is the whole match) and the offset just past the line, to search on from there.
struct LineMatch {
  std::string line;
  std::vector<std::string> groups;
  std::size_t end_offset = 0;
};

using EnvVars = std::vector<std::pair<std::string, std::string>>;

class Process {
 public:
  // Starts `program` (an absolute path, or a name looked up in PATH) with `args` (argv[1..]).
  // `extra_env` is added to (and overrides) this process's environment. Throws on failure.
  // `label` names the process in diagnostics.
  Process(std::string program, std::vector<std::string> args, EnvVars extra_env = {},
          std::string label = {});
  ~Process();

  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& label() const { return label_; }

  // Sends `sig` to the child itself (not its group). No-op once it has been reaped.
  void signal(int sig);
  // True until the child has exited (reaps it without blocking when it has).
  bool running();
  // The exit status once reaped, else nullopt. Never blocks.
  std::optional<ExitStatus> exit_status();
  // Waits up to `timeout` for the child to exit; nullopt if it is still running.
  std::optional<ExitStatus> wait_exit(Millis timeout);
  // SIGKILL to the whole process group, then reap. Returns the final status.
  ExitStatus kill9();

  // Captured output so far (the files grow while the child runs).
  std::string output(Stream s) const;
  std::string stdout_text() const { return output(Stream::Stdout); }
  std::string stderr_text() const { return output(Stream::Stderr); }
  std::size_t output_size(Stream s) const;
  std::filesystem::path output_path(Stream s) const;

  // Waits until a complete line at or after byte offset `from` matches `re` (std::regex_search).
  // Gives up at the deadline or, early, once the child has exited without printing a match.
  std::optional<LineMatch> wait_for_line(Stream s, const std::regex& re, Millis timeout,
                                         std::size_t from = 0);
  // Non-blocking: the first matching complete line at or after `from`, if any.
  std::optional<LineMatch> find_line(Stream s, const std::regex& re, std::size_t from = 0) const;

  // When true (the default), the destructor prints the tail of stdout/stderr to std::cerr if it
  // runs during stack unwinding (a failed REQUIRE), to show what the child said.
  void set_dump_on_unwind(bool on) { dump_on_unwind_ = on; }
  void dump(std::size_t tail_bytes = 8192) const;

 private:
  std::optional<LineMatch> find_line_impl(Stream s, const std::regex& re, std::size_t from,
                                          bool include_partial) const;

  void collect_at_exit() const;

  std::string program_;
  std::string label_;
  TempDir dir_;
  // Where the captures are collected when linking was not possible; empty when linked or off.
  std::filesystem::path copy_stdout_to_;
  std::filesystem::path copy_stderr_to_;
  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
  bool dump_on_unwind_ = true;
};

// Result of a command run to completion.
struct CommandResult {
  ExitStatus status;
  std::string out;
  std::string err;
};

// Runs a command to completion; kills it and throws std::runtime_error if it runs past
// `timeout` (the message quotes the command line with the known secrets of support/secrets.hpp
// replaced by their names). Its output is collected as any Process's, labelled
// "<program>-<first argument>".
CommandResult run_command(const std::string& program, const std::vector<std::string>& args,
                          Millis timeout = 10s, const EnvVars& extra_env = {});

// The collection directory ($REGISTRAR_TEST_OUTPUT_DIR, created if missing), or "" when unset.
std::filesystem::path output_collection_dir();

// `text` with every known secret (support/secrets.hpp) replaced by its constant's name, e.g.
// "<kKnownToken>": for diagnostics the test harness itself prints.
std::string redact_known_secrets(std::string text);

}  // namespace registrar::test
