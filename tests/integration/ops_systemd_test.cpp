// systemd/grpc-registrar.service: `systemd-analyze verify` with the binary installed where
// ExecStart points (in a temporary root), and the `systemd-analyze security` exposure, which
// docs/operations.md records.
#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>

#include "ops_itest.hpp"
#include "support/paths.hpp"

using namespace registrar::itest;
namespace fs = std::filesystem;

namespace {

std::optional<std::string> systemd_analyze() {
  for (const char* p : {"/usr/bin/systemd-analyze", "/bin/systemd-analyze"})
    if (fs::exists(p)) return std::string(p);
  return std::nullopt;
}

// A root with the unit, the binary at /usr/bin/grpc-registrar, /bin/sh (ExecReload) and the
// system's own units (the targets ours is ordered against).
struct UnitRoot {
  TempDir dir{"registrar-unit-root"};
  explicit UnitRoot(bool with_binary = true) {
    const fs::path r = dir.path();
    fs::create_directories(r / "usr/bin");
    fs::create_directories(r / "usr/lib/systemd");
    fs::create_directories(r / "etc/systemd/system");
    fs::create_symlink("usr/bin", r / "bin");
    if (with_binary) fs::copy_file(*registrar_bin(), r / "usr/bin/grpc-registrar");
    fs::copy_file(fs::canonical("/bin/sh"), r / "usr/bin/sh");
    fs::copy("/usr/lib/systemd/system", r / "usr/lib/systemd/system",
             fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    fs::copy_file(source_dir() / "systemd/grpc-registrar.service",
                  r / "etc/systemd/system/grpc-registrar.service");
  }
  std::string root_flag() const { return "--root=" + dir.path().string(); }
};

}  // namespace

TEST_CASE("ops systemd: the unit passes systemd-analyze verify", "[ops][systemd]") {
  if (!have_binaries()) return;
  const auto analyze = systemd_analyze();
  REQUIRE(analyze);  // scripts/bootstrap installs systemd: this test never skips
  UnitRoot root;
  const auto r = run_command(*analyze, {"verify", root.root_flag(), "grpc-registrar.service"}, 60s);
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.status.exited_with(0));
  CHECK(r.err.find("grpc-registrar.service") == std::string::npos);  // no complaint about it

  // The check is real: without the binary where ExecStart points, verify fails.
  UnitRoot bare(/*with_binary=*/false);
  const auto r2 =
      run_command(*analyze, {"verify", bare.root_flag(), "grpc-registrar.service"}, 60s);
  CHECK_FALSE(r2.status.exited_with(0));
  CHECK(r2.err.find("/usr/bin/grpc-registrar is not executable") != std::string::npos);
}

TEST_CASE("ops systemd: the unit asks for what the daemon does", "[ops][systemd]") {
  const std::string unit = read_text(source_dir() / "systemd/grpc-registrar.service");
  // ExecReload uses the shell's built-in kill (procps is not on every system); the hand-over
  // exit (75, SIGUSR2) is restarted and is no failure; a failing ExecStartPre ("-") is not the
  // unit's, so that RestartPreventExitStatus= (main process only) keeps a bad manifest stopped.
  for (const std::string line : {"Type=notify",
                                 "WatchdogSec=",
                                 "ExecStartPre=-/usr/bin/grpc-registrar check -c",
                                 "ExecStart=/usr/bin/grpc-registrar run -c",
                                 "ExecReload=/bin/sh -c 'kill -HUP \"$MAINPID\"'",
                                 "Restart=on-failure",
                                 "RestartSec=",
                                 "SuccessExitStatus=75",
                                 "RestartForceExitStatus=75",
                                 "EnvironmentFile=-/etc/default/grpc-registrar",
                                 "/etc/grpc-registrar/services.yaml",
                                 "LoadCredential=consul-token:",
                                 "Environment=CONSUL_HTTP_TOKEN_FILE=%d/consul-token",
                                 "DynamicUser=yes",
                                 "NoNewPrivileges=yes",
                                 "ProtectSystem=strict",
                                 "ProtectHome=yes",
                                 "PrivateTmp=yes",
                                 "PrivateDevices=yes",
                                 "CapabilityBoundingSet=\n",
                                 "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
                                 "SystemCallFilter=@system-service",
                                 "MemoryDenyWriteExecute=yes"}) {
    INFO(line);
    CHECK(unit.find(line) != std::string::npos);
  }
}

TEST_CASE("ops systemd: systemd-analyze security exposure, as docs/operations.md records it",
          "[ops][systemd]") {
  if (!have_binaries()) return;
  const auto analyze = systemd_analyze();
  REQUIRE(analyze);
  UnitRoot root;
  const auto r = run_command(
      *analyze, {"security", "--offline=true", root.root_flag(), "grpc-registrar.service"}, 60s);
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  std::smatch m;
  const std::string all = r.out + r.err;
  REQUIRE(std::regex_search(
      all, m,
      std::regex(R"(Overall exposure level for grpc-registrar\.service: ([0-9.]+) ([A-Z]+))")));
  const std::string exposure = m[1];
  record("systemd-analyze security exposure", exposure + " " + std::string(m[2]));
  CHECK(std::stod(exposure) <= 2.0);
  const std::string doc = read_text(source_dir() / "docs/operations.md");
  INFO("docs/operations.md must record: exposure level " << exposure);
  CHECK(doc.find("exposure level " + exposure) != std::string::npos);
}
