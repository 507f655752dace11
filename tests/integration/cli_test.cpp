// The command line: `check` and usage errors. No etcd needed.
#include <catch2/catch.hpp>

#include "itest.hpp"
#include "support/paths.hpp"
#include "support/require.hpp"

using namespace registrar::itest;

namespace {

bool have_daemon() {
  return need(registrar_bin().has_value(),
              "grpc-registrar binary not found (target grpc-registrar, or "
              "$REGISTRAR_TEST_REGISTRAR_BIN)");
}

}  // namespace

TEST_CASE("cli: check accepts a good manifest, exit 0, effective config on stdout", "[cli]") {
  if (!have_daemon()) return;
  ManifestParams m;
  m.endpoints = {"127.0.0.1:2379"};
  ServiceEntry s;
  s.id = "hello-1";
  s.port = 50123;
  s.tags = {"a"};
  s.meta = {{"k", "v"}};
  m.services = {s};
  const ManifestFile file(manifest_yaml(m));
  const CommandResult r = run_registrar({"check", "-c", file.path().string()});
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.status.exited_with(0));
  CHECK(r.out.find("hello-1") != std::string::npos);
  CHECK(r.out.find("50123") != std::string::npos);
  CHECK(r.out.find("127.0.0.1:2379") != std::string::npos);

  // The effective config is itself a valid manifest.
  const ManifestFile again(r.out);
  const CommandResult r2 = run_registrar({"check", "-c", again.path().string()});
  INFO("re-check stderr: " << r2.err);
  CHECK(r2.status.exited_with(0));
  CHECK(r2.out.find("hello-1") != std::string::npos);
}

TEST_CASE("cli: check rejects port 70000 with exit 78 and one FILE:LINE:COL line", "[cli]") {
  if (!have_daemon()) return;
  const std::string yaml =
      "registry:\n"                        // 1
      "  kind: etcd\n"                     // 2
      "  etcd:\n"                          // 3
      "    endpoints: [127.0.0.1:2379]\n"  // 4
      "services:\n"                        // 5
      "  - name: hello\n"                  // 6
      "    id: hello-1\n"                  // 7
      "    address: 127.0.0.1\n"           // 8
      "    port: 70000\n";                 // 9, value at column 11
  const ManifestFile file(yaml, "bad-port.yaml");
  const CommandResult r = run_registrar({"check", "-c", file.path().string()});
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.status.exited_with(78));
  const auto lines = non_empty_lines(r.err);
  REQUIRE(lines.size() == 1);
  const std::string& line = lines.front();
  CHECK(line.rfind(file.path().string() + ":", 0) == 0);  // starts with the file name
  CHECK(line.find("port") != std::string::npos);
  std::smatch m;
  const std::string rest = line.substr(std::min(line.size(), file.path().string().size()));
  REQUIRE(std::regex_search(rest, m, std::regex(R"(^:([0-9]+):([0-9]+): ([^:]+): (.+)$)")));
  CHECK(m[1] == "9");
  CHECK(m[2] == "11");
  CHECK(m[3] == "services[0].port");
  CHECK(r.out.empty());
}

TEST_CASE("cli: the daemon refuses an invalid manifest with exit 78", "[cli]") {
  if (!have_daemon()) return;
  const ManifestFile file("services:\n  - name: hello\n    address: 127.0.0.1\n    port: 0\n");
  const CommandResult r = run_registrar({"run", "-c", file.path().string()});
  INFO("stderr:\n" << r.err);
  CHECK(r.status.exited_with(78));
  CHECK(r.err.find(file.path().string() + ":") != std::string::npos);
}

TEST_CASE("cli: usage errors exit 64", "[cli]") {
  if (!have_daemon()) return;
  const ManifestFile file("services: []\n");
  const CommandResult flag = run_registrar({"run", "-c", file.path().string(), "--no-such-flag"});
  INFO("unknown flag stderr: " << flag.err);
  CHECK(flag.status.exited_with(64));
  CHECK_FALSE(flag.err.empty());

  const CommandResult sub = run_registrar({"frobnicate"});
  INFO("unknown subcommand stderr: " << sub.err);
  CHECK(sub.status.exited_with(64));

  const CommandResult level =
      run_registrar({"run", "-c", file.path().string(), "--log-level", "loud"});
  INFO("bad --log-level stderr: " << level.err);
  CHECK(level.status.exited_with(64));
}

TEST_CASE("cli: -c names the manifest before or after the subcommand", "[cli]") {
  if (!have_daemon()) return;
  const ManifestFile good("services: []\n");
  const ManifestFile bad("services:\n  - {name: a, address: 127.0.0.1, port: 70000}\n");
  for (const auto& args : {std::vector<std::string>{"-c", bad.path().string(), "check"},
                           std::vector<std::string>{"check", "-c", bad.path().string()}}) {
    const CommandResult r = run_registrar(args);
    INFO("args[0] " << args[0] << " stderr: " << r.err);
    CHECK(r.status.exited_with(78));
    CHECK(r.err.find(bad.path().string()) != std::string::npos);
  }
  const CommandResult r = run_registrar({"-c", good.path().string(), "check"});
  CHECK(r.status.exited_with(0));
  CHECK(r.out.find(good.path().string()) != std::string::npos);
}

TEST_CASE("cli: --help works on every subcommand and --log-format names its choices", "[cli]") {
  if (!have_daemon()) return;
  for (const char* sub : {"run", "check"}) {
    const CommandResult r = run_registrar({sub, "--help"});
    INFO(sub << " --help: " << r.out);
    CHECK(r.status.exited_with(0));
    CHECK(r.out.find(std::string("grpc-registrar ") + sub) != std::string::npos);
    CHECK(r.out.find("--config") != std::string::npos);
  }
  const CommandResult bad = run_registrar({"--log-format", "xml"});
  CHECK(bad.status.exited_with(64));
  CHECK(bad.err.find("{text,json}") != std::string::npos);
}

TEST_CASE("cli: -c on the command line wins over GRPC_REGISTRAR_CONFIG, in every position",
          "[cli]") {
  if (!have_daemon()) return;
  const ManifestFile good("services: []\n");
  const EnvVars env{{"GRPC_REGISTRAR_CONFIG", "/nonexistent/from-env.yaml"}};
  for (const auto& args : {std::vector<std::string>{"-c", good.path().string(), "check"},
                           std::vector<std::string>{"check", "-c", good.path().string()}}) {
    const CommandResult r = run_registrar(args, env);
    INFO("args[0] " << args[0] << " stderr: " << r.err);
    CHECK(r.status.exited_with(0));
  }
  // Without -c, the variable names the manifest.
  const CommandResult r = run_registrar({"check"}, env);
  CHECK(r.status.exited_with(78));
  CHECK(r.err.find("/nonexistent/from-env.yaml") != std::string::npos);
}
