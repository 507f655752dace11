#include "support/process.hpp"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <filesystem>

#include "support/wait.hpp"

using namespace registrar::test;

namespace {
bool pid_gone(pid_t pid) {
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}
}  // namespace

TEST_CASE("process: captures stdout and stderr, passes extra env vars, reports the exit code",
          "[process]") {
  Process p("/bin/sh", {"-c", "echo out-$REG_TEST_VAR; echo err-line >&2; exit 7"},
            {{"REG_TEST_VAR", "value42"}});
  const auto st = p.wait_exit(10s);
  REQUIRE(st.has_value());
  CHECK(st->exited_with(7));
  CHECK(st->describe() == "exit 7");
  CHECK(p.stdout_text() == "out-value42\n");
  CHECK(p.stderr_text() == "err-line\n");
  CHECK_FALSE(p.running());
}

TEST_CASE("process: extra env overrides an inherited variable", "[process]") {
  ::setenv("REG_TEST_INHERITED", "old", 1);
  Process p("/bin/sh", {"-c", "echo $REG_TEST_INHERITED"}, {{"REG_TEST_INHERITED", "new"}});
  REQUIRE(p.wait_exit(10s).has_value());
  CHECK(p.stdout_text() == "new\n");
  ::unsetenv("REG_TEST_INHERITED");
}

TEST_CASE("process: wait_for_line follows output as it grows", "[process]") {
  // The child paces its own output; the test only waits for conditions.
  Process p("/bin/sh", {"-c",
                        "i=0; while [ $i -lt 40 ]; do echo line-$i; i=$((i+1)); sleep 0.02; "
                        "done; echo done"});
  const auto first = p.wait_for_line(Stream::Stdout, std::regex(R"(^line-(\d+)$)"), 10s);
  REQUIRE(first.has_value());
  CHECK(first->groups.at(1) == "0");
  CHECK(first->end_offset == std::string("line-0\n").size());
  const auto later =
      p.wait_for_line(Stream::Stdout, std::regex(R"(^line-2(\d)$)"), 10s, first->end_offset);
  REQUIRE(later.has_value());
  CHECK(later->line == "line-20");
  const auto done = p.wait_for_line(Stream::Stdout, std::regex("^done$"), 10s, later->end_offset);
  REQUIRE(done.has_value());
  REQUIRE(p.wait_exit(10s).has_value());
  CHECK(p.output_size(Stream::Stdout) == p.stdout_text().size());
  // A search starting past a line does not see it again.
  CHECK_FALSE(p.find_line(Stream::Stdout, std::regex("^line-0$"), first->end_offset));
}

TEST_CASE("process: wait_for_line gives up once the child exits without a match", "[process]") {
  Process p("/bin/sh", {"-c", "echo nothing-useful"});
  const auto m = p.wait_for_line(Stream::Stdout, std::regex("never-printed"), 30s);
  CHECK_FALSE(m.has_value());
  CHECK_FALSE(p.running());  // it returned because the child exited, not at the deadline
}

TEST_CASE("process: a final line without newline is found after exit", "[process]") {
  Process p("/bin/sh", {"-c", "printf 'partial'"});
  const auto m = p.wait_for_line(Stream::Stdout, std::regex("^partial$"), 10s);
  REQUIRE(m.has_value());
  CHECK(m->line == "partial");
}

TEST_CASE("process: signal, wait_exit deadline and kill9", "[process]") {
  Process p("/bin/sh", {"-c", "trap '' TERM; echo ready; while :; do sleep 1; done"});
  REQUIRE(p.wait_for_line(Stream::Stdout, std::regex("^ready$"), 10s));
  p.signal(SIGTERM);  // ignored by the child
  CHECK_FALSE(p.wait_exit(200ms).has_value());
  CHECK(p.running());
  const ExitStatus st = p.kill9();
  CHECK(st.killed_by(SIGKILL));
  CHECK_FALSE(p.running());
  CHECK(p.exit_status() == st);
  p.signal(SIGTERM);  // harmless after reaping
}

TEST_CASE("process: SIGTERM ends a default child with the signal", "[process]") {
  Process p("sleep", {"30"});  // looked up in PATH
  p.signal(SIGTERM);
  const auto st = p.wait_exit(10s);
  REQUIRE(st.has_value());
  CHECK(st->killed_by(SIGTERM));
}

TEST_CASE("process: the child leads its own process group, the destructor kills the group",
          "[process]") {
  pid_t child = -1;
  pid_t grandchild = -1;
  std::filesystem::path out_dir;
  {
    Process p("/bin/sh", {"-c", "sleep 30 & echo $!; wait"});
    child = p.pid();
    const auto line = p.wait_for_line(Stream::Stdout, std::regex(R"(^(\d+)$)"), 10s);
    REQUIRE(line.has_value());
    grandchild = static_cast<pid_t>(std::stol(line->groups.at(1)));
    CHECK(::getpgid(child) == child);
    CHECK(::getpgid(grandchild) == child);
    CHECK(::getpgid(0) != child);
    out_dir = p.output_path(Stream::Stdout).parent_path();
    REQUIRE(std::filesystem::exists(out_dir));
  }
  CHECK(pid_gone(child));  // reaped by the destructor, not a zombie
  // The grandchild was re-parented; its new parent reaps it soon after the SIGKILL.
  CHECK(wait_until([&] { return pid_gone(grandchild); }, 10s));
  CHECK_FALSE(std::filesystem::exists(out_dir));
}

TEST_CASE("process: the destructor kills and reaps even while an exception unwinds", "[process]") {
  pid_t child = -1;
  try {
    Process p("sleep", {"30"});
    p.set_dump_on_unwind(false);
    child = p.pid();
    throw std::runtime_error("simulated assertion failure");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "simulated assertion failure");
  }
  REQUIRE(child > 0);
  CHECK(pid_gone(child));
}

TEST_CASE("process: the child starts with default signal handling even if ours is changed",
          "[process]") {
  struct sigaction ignore {};
  struct sigaction old {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGUSR1, &ignore, &old);
  Process p("sleep", {"30"});
  ::sigaction(SIGUSR1, &old, nullptr);
  p.signal(SIGUSR1);
  const auto st = p.wait_exit(10s);
  REQUIRE(st.has_value());
  CHECK(st->killed_by(SIGUSR1));
}

TEST_CASE("process: spawning a missing program throws", "[process]") {
  CHECK_THROWS_AS(Process("/nonexistent/registrar-no-such-binary", {}), std::runtime_error);
}

TEST_CASE("process: run_command returns output and kills a command past its deadline",
          "[process]") {
  const CommandResult ok = run_command("/bin/sh", {"-c", "echo hi; echo there >&2; exit 3"});
  CHECK(ok.status.exited_with(3));
  CHECK(ok.out == "hi\n");
  CHECK(ok.err == "there\n");
  CHECK_THROWS_WITH(run_command("sleep", {"30"}, 200ms), Catch::Contains("timed out"));
}
