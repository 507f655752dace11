// No silent passes (issue 13): an integration test that cannot find its binaries fails under
// CI=true, with the reason, and outside CI warns that it did not run. Proven on this very test
// binary: a hidden test case that begins as every integration test does
// (`if (!have_binaries()) return;`) is run with the daemon's path pointed at nothing
// ($REGISTRAR_TEST_REGISTRAR_BIN, support/paths.hpp), with and without CI=true.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "itest.hpp"

using namespace registrar::itest;

namespace {

constexpr const char* kProbe = "no silent pass: hidden probe that begins as every integration test";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

CommandResult run_probe(EnvVars env) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  return run_command(self, {kProbe}, 60s, env);
}

}  // namespace

// Hidden ([.]): not listed, so ctest does not run it on its own.
TEST_CASE("no silent pass: hidden probe that begins as every integration test", "[.][probe]") {
  if (!have_binaries()) return;
  SUCCEED("binaries found");
}

TEST_CASE("no silent pass: a missing binary fails the test under CI=true and warns elsewhere",
          "[itest]") {
  if (!have_binaries()) return;
  const std::string missing = "/nonexistent/grpc-registrar";

  const CommandResult in_ci =
      run_probe({{"REGISTRAR_TEST_REGISTRAR_BIN", missing}, {"CI", "true"}});
  INFO(in_ci.out << in_ci.err);
  CHECK_FALSE(in_ci.status.exited_with(0));
  CHECK(contains(in_ci.out, "grpc-registrar binary not found"));
  CHECK(contains(in_ci.out, "CI=true"));
  CHECK(contains(in_ci.out, "test cases: 1 | 1 failed"));

  const CommandResult outside = run_probe({{"REGISTRAR_TEST_REGISTRAR_BIN", missing}, {"CI", ""}});
  INFO(outside.out << outside.err);
  CHECK(outside.status.exited_with(0));
  CHECK(contains(outside.out, "grpc-registrar binary not found"));
  CHECK(contains(outside.out, "test not run"));

  // With the binaries where the build put them, the probe passes under CI=true: no false alarm.
  const CommandResult found = run_probe({{"CI", "true"}});
  INFO(found.out << found.err);
  CHECK(found.status.exited_with(0));
  CHECK_FALSE(contains(found.out, "not found"));
}
