// Issue 19, one CLI grammar: the findings a new user met following the docs literally, each
// asserting the exact text now printed. (Backend parity of register/deregister is tested with
// each backend: security_etcd_test.cpp, nacos_cli_test.cpp, zookeeper_test.cpp.)
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "ops_itest.hpp"
#include "support/ports.hpp"
#include "support/temp_dir.hpp"

using namespace registrar::itest;

TEST_CASE("ops grammar: deregister refuses the --prefix register refuses, naming the flag",
          "[ops][cli]") {
  if (!have_binaries()) return;
  for (const std::string sub : {"register", "deregister"}) {
    std::vector<std::string> args{sub, "--etcd", "127.0.0.1:1", "--name",   "hello", "--address",
                                  "h", "--port", "1",           "--prefix", "svc"};
    const auto r = run_registrar(args);
    INFO(sub << ": " << r.err);
    CHECK(r.status.exited_with(64));
    CHECK(r.err == "grpc-registrar " + sub + ": --prefix: must start with \"/\", got \"svc\"\n");
  }
}

TEST_CASE("ops grammar: deregister against a refused port says so at once", "[ops][cli]") {
  if (!have_binaries()) return;
  const std::string endpoint = "127.0.0.1:" + std::to_string(free_port());
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_registrar(
      {"deregister", "--etcd", endpoint, "--name", "hello", "--id", "hello-1", "--timeout", "30s"},
      {}, 60s);
  const auto took = std::chrono::steady_clock::now() - t0;
  INFO(r.err);
  CHECK(r.status.exited_with(69));
  CHECK(r.err.find("Connection refused") != std::string::npos);
  CHECK(r.err.find("Deadline Exceeded") == std::string::npos);
  // Not by the deadline: the refusal ends the attempt (the bound is the --timeout given).
  CHECK(took < 30s);
}

TEST_CASE("ops grammar: status and drain without a manifest point at the flags, not at /etc",
          "[ops][cli]") {
  if (!have_binaries()) return;
  registrar::test::TempDir dir("registrar-grammar");
  const registrar::test::EnvVars env{{"GRPC_REGISTRAR_CONFIG", (dir.path() / "none.yaml").string()},
                                     {"RUNTIME_DIRECTORY", dir.path().string()}};
  // A daemon of another test may hold the default socket: then there is nothing to show here.
  if (std::filesystem::exists("/run/grpc-registrar/control.sock")) return;
  auto r = run_registrar({"status"}, env);
  INFO(r.err);
  CHECK(r.status.exited_with(1));  // status: 1 for "no answer", as HEALTHCHECK expects
  CHECK(r.err.find("cannot read") == std::string::npos);
  CHECK(r.err.find("give --control-socket or --status-address\n") != std::string::npos);
  r = run_registrar({"drain"}, env);
  INFO(r.err);
  CHECK(r.status.exited_with(69));
  CHECK(r.err.find("cannot read") == std::string::npos);
  CHECK(r.err.find("give --control-socket or --pid\n") != std::string::npos);
  // With -c, the manifest named must exist.
  r = run_registrar({"status", "-c", (dir.path() / "none.yaml").string()});
  CHECK(r.status.exited_with(78));
  CHECK(r.err.find("cannot read") != std::string::npos);
}

TEST_CASE("ops grammar: --status-listen on a busy port names the flag, not status.listen",
          "[ops][cli]") {
  if (!have_binaries()) return;
  HelloService hello;  // its port is taken
  const std::string busy = "127.0.0.1:" + std::to_string(hello.port());
  const auto r = run_registrar({"register", "--etcd", "127.0.0.1:1", "--name", "hello", "--address",
                                "127.0.0.1", "--port", "1", "--status-listen", busy},
                               {}, 20s);
  INFO(r.err);
  CHECK(r.status.exited_with(78));
  CHECK(r.err.find("status.listen") == std::string::npos);
  CHECK(r.err.find("grpc-registrar: --status-listen " + busy + ": ") != std::string::npos);
  CHECK(r.err.find("ddress already in use") != std::string::npos);
}

TEST_CASE("ops grammar: text timestamps are UTC with a Z, and warn is called warn", "[ops][cli]") {
  if (!have_binaries()) return;
  // A remote status address draws a warning at start; TZ must not change the clock shown.
  Process reg(*registrar_bin(),
              {"register", "--etcd", "127.0.0.1:1", "--name", "hello", "--address", "127.0.0.1",
               "--port", "1", "--status-listen", "0.0.0.0:0", "--status-allow-remote"},
              {{"TZ", "Asia/Tokyo"}}, "register-utc");
  DumpOnFailure dump(reg);
  const auto warn = reg.wait_for_line(
      Stream::Stderr, std::regex(R"(^(\d{4}-\d\d-\d\dT(\d\d):\d\d:\d\d\.\d{3})Z warn status: )"),
      20s);
  REQUIRE(warn);
  // UTC: the hour shown is the UTC hour now (or the one before, across an hour boundary).
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  const int hour = std::stoi(warn->groups.at(2));
  CHECK((hour == utc.tm_hour || hour == (utc.tm_hour + 23) % 24));
  reg.signal(SIGTERM);
  REQUIRE(reg.wait_exit(10s));
  CHECK(reg.stderr_text().find(" warning ") == std::string::npos);
}

TEST_CASE("ops grammar: --help lists --token and --password where they work", "[ops][cli]") {
  if (!have_binaries()) return;
  for (const std::string sub : {"run", "check", "register", "deregister", "resolve", "watch"}) {
    const auto r = run_registrar({sub, "--help"});
    INFO(sub);
    CHECK(r.status.exited_with(0));
    CHECK(r.out.find("  --token T, --consul-token T     used as $CONSUL_HTTP_TOKEN") !=
          std::string::npos);
    CHECK(r.out.find("  --password P, --etcd-password P used as $ETCDCTL_PASSWORD") !=
          std::string::npos);
  }
  CHECK(run_registrar({"probe", "--help"}).out.find("--token") == std::string::npos);
}

TEST_CASE("ops grammar: the log flags after the subcommand, and JSON errors when asked for",
          "[ops][cli]") {
  if (!have_binaries()) return;
  registrar::test::TempDir dir("registrar-grammar-json");
  const auto bad = dir.write_file("bad.yaml",
                                  "services:\n  - name: a\n    address: 127.0.0.1\n"
                                  "    port: 70000\n");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"check", "-c", bad.string(), "--log-format", "json"},
        std::vector<std::string>{"-c", bad.string(), "--log-format", "json", "check"}}) {
    const auto r = run_registrar(args);
    INFO(r.err);
    CHECK(r.status.exited_with(78));
    const auto j = nlohmann::json::parse(r.err);  // one object, nothing else
    CHECK(j.at("level") == "error");
    CHECK(std::string(j.at("msg")) ==
          bad.string() + ":4:11: services[0].port: 70000 is out of range (1-65535)");
    CHECK(std::regex_match(std::string(j.at("ts")),
                           std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  }
  // A one-off command's own message, and without timestamps.
  const auto r =
      run_registrar({"drain", "--timeout", "5", "--log-format", "json", "--no-log-timestamps"});
  CHECK(r.status.exited_with(64));
  CHECK(r.err ==
        R"({"level":"error","msg":"grpc-registrar drain: --timeout: invalid duration \"5\": )"
        R"(missing unit (ms, s, m, h), e.g. 10s"})"
        "\n");
}

TEST_CASE("ops grammar: resolve --check's timeouts get the one duration message", "[ops][cli]") {
  if (!have_binaries()) return;
  const auto r = run_registrar(
      {"resolve", "hello", "--etcd", "127.0.0.1:1", "--check", "--connect-timeout", "5"});
  CHECK(r.status.exited_with(64));
  CHECK(r.err ==
        "grpc-registrar resolve: --connect-timeout: invalid duration \"5\": missing unit (ms, s, "
        "m, h), e.g. 10s\n");
}

TEST_CASE("ops grammar: a reload names the status port bound for :0, not :0", "[ops][cli]") {
  if (!have_binaries()) return;
  ManifestParams m;
  m.endpoints = {"127.0.0.1:" + std::to_string(free_port())};
  auto status_manifest = [&](const std::string& listen) {
    return manifest_yaml(m) + "status:\n  listen: " + listen + "\n";
  };
  Daemon d(status_manifest("127.0.0.1:0"));
  DumpOnFailure dump(d.process());
  const auto port = wait_for_status_port(d.process());
  REQUIRE(port);
  std::ofstream(d.manifest_path()) << status_manifest("127.0.0.1:1");
  const std::size_t from = d.log_size();
  d.signal(SIGHUP);
  CHECK(
      d.wait_for_log(std::regex("reload: status.listen changed to '127\\.0\\.0\\.1:1'; the status "
                                "server stays on '127\\.0\\.0\\.1:" +
                                std::to_string(*port) + "' until restart"),
                     10s, from));
}

TEST_CASE("ops grammar: deregister also removes the ownership record a killed register left",
          "[ops][cli]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  const Etcdctl ctl = etcd.ctl();
  HelloService hello;
  Process reg(*registrar_bin(),
              {"register", "--etcd", etcd.endpoint(), "--name", "hello", "--id", "hello-1",
               "--address", "127.0.0.1", "--port", std::to_string(hello.port()), "--ttl", "60s"},
              {}, "register-killed");
  DumpOnFailure dump(reg);
  char host[256] = {};
  REQUIRE(::gethostname(host, sizeof host - 1) == 0);
  const std::string owner = "/grpc-registrar/owners/" + std::string(host) + ":register/hello-1";
  REQUIRE(wait_until([&] { return ctl.get("/services/hello/hello-1") && ctl.get(owner); }, 15s));
  reg.kill9();  // both stay until the lease's 60 s run out
  const auto r = run_registrar(
      {"deregister", "--etcd", etcd.endpoint(), "--name", "hello", "--id", "hello-1"});
  INFO(r.err);
  CHECK(r.status.exited_with(0));
  CHECK(r.out == "deleted /services/hello/hello-1\ndeleted " + owner + "\n");
  CHECK_FALSE(ctl.get(owner));
}

TEST_CASE("ops grammar: docs/cli.md documents each subcommand's --help flags where it belongs",
          "[ops][cli][docs]") {
  // Stricter than "somewhere in the file": in the subcommand's own section, or in the sections it
  // points to (the intro's secret flags, `run`'s shared flags, the registry flags of register and
  // every command that talks to a registry, resolve's and probe's flags for resolve and watch).
  if (!have_binaries()) return;
  const std::string doc = read_text(source_dir() / "docs" / "cli.md");
  auto section = [&](const std::string& heading) {
    const auto start = doc.find("\n### " + heading);
    REQUIRE(start != std::string::npos);
    auto end = std::min(doc.find("\n### ", start + 1), doc.find("\n## ", start + 1));
    return doc.substr(start, end == std::string::npos ? std::string::npos : end - start);
  };
  const std::string shared = doc.substr(0, doc.find("\n## One-off")) + section("`run`");
  for (const std::string sub :
       {"run", "check", "register", "deregister", "probe", "resolve", "watch", "drain", "status"}) {
    std::string allowed = section("`" + sub + "`") + shared;
    if (sub == "register" || sub == "deregister" || sub == "resolve" || sub == "watch")
      allowed += section("Registry flags");
    if (sub == "resolve" || sub == "watch") allowed += section("`resolve`") + section("`probe`");
    for (const std::string& flag : help_flags({sub})) {
      INFO("grpc-registrar " << sub << " --help lists " << flag);
      CHECK(std::regex_search(allowed, std::regex("`[^`\n]*" + flag + "([^a-z0-9-]|$)")));
    }
  }
}

TEST_CASE("ops grammar: resolve and watch take register's registry flags, with the same words",
          "[ops][cli]") {
  if (!have_binaries()) return;
  for (const std::string sub : {"register", "resolve", "watch"}) {
    std::vector<std::string> args{sub, "--consul", "--prefix", "/x"};
    if (sub == "register") {
      args.insert(args.end(), {"--name", "hello", "--address", "127.0.0.1", "--port", "1"});
    } else {
      args.insert(args.begin() + 1, "hello");
    }
    const auto r = run_registrar(args);
    INFO(sub << ": " << r.err);
    CHECK(r.status.exited_with(64));
    CHECK(r.err == "grpc-registrar " + sub + ": --prefix: only with --etcd or --zookeeper\n");
  }
  const auto r = run_registrar({"resolve", "hello", "--nacos-user", "registrar"});
  CHECK(r.status.exited_with(64));
  CHECK(r.err ==
        "grpc-registrar resolve: registry flags need --etcd, --consul, --zookeeper, --eureka or "
        "--nacos (else the manifest's registry is read)\n");
}

TEST_CASE("ops grammar: JSON errors survive a command that leaves without destructors",
          "[ops][cli]") {
  // resolve ends through leave() (std::_Exit): its last line must still come out, as JSON.
  if (!have_binaries()) return;
  const std::string nobody = "127.0.0.1:" + std::to_string(free_port());
  const auto r = run_registrar(
      {"resolve", "hello", "--etcd", nobody, "--timeout", "500ms", "--log-format", "json"});
  INFO(r.err);
  CHECK(r.status.exited_with(69));
  const auto lines = non_empty_lines(r.err);
  REQUIRE(lines.size() == 1);
  const auto j = nlohmann::json::parse(lines[0]);
  CHECK(j.at("level") == "error");
  CHECK(std::string(j.at("msg")).rfind("grpc-registrar resolve: ", 0) == 0);
  CHECK(std::string(j.at("msg")).find(nobody) != std::string::npos);
}
