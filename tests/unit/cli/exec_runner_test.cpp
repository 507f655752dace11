// watch --exec: one run at a time, the set on stdin, sets submitted during a run coalesced into
// one more run with the latest.
#include "cli/exec_runner.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

using registrar::cli::ExecRunner;

namespace {

std::string contents(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("exec runner: one run at a time, what arrives meanwhile coalesces into one more run") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("exec-runner-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto out = dir / "runs";
  boost::asio::io_context ioc;
  // Each run appends its stdin, waits long enough for the test's next two submits to find it
  // running, then marks its end.
  ExecRunner runner(ioc, "cat >> " + out.string() + "; sleep 0.3; echo --- >> " + out.string(),
                    "test");
  runner.submit("first\n");
  CHECK(runner.running());
  runner.submit("second\n");  // replaced by the next one before it ever runs
  runner.submit("third\n");
  // Until the last run has been reaped (its output is complete before it exits).
  for (int i = 0; i < 1000 && runner.running(); ++i) {
    ioc.restart();
    ioc.run_for(std::chrono::milliseconds(10));
  }
  CHECK(contents(out) == "first\n---\nthird\n---\n");
  CHECK_FALSE(runner.running());
  std::filesystem::remove_all(dir);
}
