// The one-off subcommands and the exit codes (issue 5, part 1). `probe` follows
// grpc-health-probe's codes: 0 SERVING, 1 invalid arguments, 2 connection failure, 3 RPC
// failure, 4 not SERVING; everything else uses sysexits (64 usage, 69 unavailable, 78 config).
#include <algorithm>
#include <catch2/catch.hpp>
#include <regex>
#include <set>

#include "ops_itest.hpp"
#include "support/paths.hpp"
#include "support/ports.hpp"
#include "support/secrets.hpp"

using namespace registrar::itest;

namespace {

// `probe ARGS...`, with 10 s connect and RPC timeouts unless ARGS set them: the defaults (1 s)
// are tight for a sanitizer build on a loaded machine, and no test here is about them.
CommandResult probe(const std::vector<std::string>& args) {
  std::vector<std::string> a{"probe"};
  a.insert(a.end(), args.begin(), args.end());
  for (const char* flag : {"--connect-timeout", "--rpc-timeout"}) {
    if (std::find(args.begin(), args.end(), flag) == args.end()) {
      a.push_back(flag);
      a.push_back("10s");
    }
  }
  return run_registrar(a, {}, 30s);
}

}  // namespace

TEST_CASE("ops cli: probe exits 0 for SERVING and 4 for NOT_SERVING", "[ops][cli]") {
  if (!have_binaries()) return;
  HelloService hello({{"extra"}});
  auto r = probe({hello.target()});
  INFO(r.err);
  CHECK(r.status.exited_with(0));
  CHECK(r.out == "status: SERVING\n");
  r = probe({hello.target(), "--service", "extra"});
  CHECK(r.status.exited_with(0));

  hello.set_status("extra", false);
  r = probe({hello.target(), "--service", "extra"});
  INFO(r.err);
  CHECK(r.status.exited_with(4));
  CHECK(r.err == "service unhealthy (responded with \"NOT_SERVING\")\n");

  HelloService down({{}, /*not_serving=*/true});
  CHECK(probe({down.target()}).status.exited_with(4));
}

TEST_CASE("ops cli: probe exits 2 when nothing listens, 3 on RPC failures", "[ops][cli]") {
  if (!have_binaries()) return;
  const std::uint16_t closed = free_port();
  auto r = probe({"127.0.0.1:" + std::to_string(closed), "--connect-timeout", "2s"});
  INFO(r.err);
  CHECK(r.status.exited_with(2));
  CHECK(r.err.find("failed to connect") != std::string::npos);

  HelloService hello;
  r = probe({hello.target(), "--service", "no.such.Service"});  // NOT_FOUND
  INFO(r.err);
  CHECK(r.status.exited_with(3));
  CHECK(r.err.find("NOT_FOUND") != std::string::npos);

  hello.set_hang(true);  // Check never answers: the RPC deadline
  r = probe({hello.target(), "--rpc-timeout", "200ms"});
  INFO(r.err);
  CHECK(r.status.exited_with(3));
  CHECK(r.err == "timeout: health rpc did not complete within 200ms\n");
  hello.set_hang(false);
}

TEST_CASE("ops cli: drain --pid signals only a grpc-registrar, and says what it found",
          "[ops][cli]") {
  if (!have_binaries()) return;
  // A mistyped pid used to get SIGUSR1, whose default action ends the process.
  Process sleeper("/bin/sleep", {"30"});
  const std::string pid = std::to_string(sleeper.pid());
  auto r = run_registrar({"drain", "--pid", pid});
  CHECK(r.status.exited_with(69));
  CHECK(r.err == "grpc-registrar drain: process " + pid +
                     " is /usr/bin/sleep, not grpc-registrar; nothing sent\n");
  CHECK(sleeper.running());

  // A pid that no process has: pid_max is at most 2^22 on Linux.
  r = run_registrar({"drain", "--pid", "4194304"});
  CHECK(r.status.exited_with(69));
  CHECK(r.err == "grpc-registrar drain: no process 4194304\n");
}

TEST_CASE("ops cli: probe exits 1 on invalid arguments, not 64", "[ops][cli]") {
  if (!have_binaries()) return;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {},                                          // no ADDR
           {"127.0.0.1:1", "--rpc-timeout", "soon"},    // bad duration
           {"127.0.0.1:1", "--connect-timeout", "0"},   // zero
           {"127.0.0.1:1", "--bogus"},                  // unknown flag
           {"127.0.0.1:1", "--token", kKnownToken}}) {  // a secret-looking flag
    const auto r = probe(args);
    INFO(r.err);
    CHECK(r.status.exited_with(1));
    CHECK(non_empty_lines(r.err).size() == 1);
  }
}

TEST_CASE("ops cli: usage errors exit 64 with one line, --version and --help exit 0",
          "[ops][cli]") {
  if (!have_binaries()) return;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--bogus"},
           {"nosuchcommand"},
           {"run", "--status-listen", "example.com:1"},
           {"register", "--etcd", "127.0.0.1:1", "--name", "a", "--address", "127.0.0.1"},
           {"register", "--etcd", "127.0.0.1:1", "--consul", "--name", "a", "--address", "h",
            "--port", "1"},
           {"register", "--name", "a", "--address", "h", "--port", "1"},
           {"register", "--etcd", "127.0.0.1:1", "--name", "a", "--address", "h", "--port",
            "70000"},
           {"register", "--etcd", "127.0.0.1:1", "--name", "a", "--address", "h", "--port", "1",
            "--meta", "novalue"},
           {"register", "--consul-token"},  // a secret flag without its value
           {"deregister", "--name", "a"},
           {"drain", "--control-socket", "nope"},
           {"status", "--status-address", "1.2.3.4"}}) {
    const auto r = run_registrar(args);
    std::string cmd;
    for (const auto& a : args) cmd += " " + a;
    INFO("grpc-registrar" << cmd << "\nstderr: " << r.err);
    CHECK(r.status.exited_with(64));
    CHECK(non_empty_lines(r.err).size() == 1);
  }
  // The reason names the flag.
  auto r = run_registrar(
      {"register", "--etcd", "127.0.0.1:1", "--name", "a", "--address", "h", "--port", "70000"});
  CHECK(r.err == "grpc-registrar register: --port: 70000 is out of range (1-65535)\n");
  r = run_registrar({"register", "--etcd", "127.0.0.1:1", "--name", "a", "--address", "h", "--port",
                     "1", "--probe-interval", "fast"});
  CHECK(r.err.rfind("grpc-registrar register: --probe-interval: invalid duration \"fast\"", 0) ==
        0);
  // One duration message for every subcommand (drain and status used to leave out the reason).
  const std::string missing_unit =
      ": --timeout: invalid duration \"5\": missing unit (ms, s, m, h), e.g. 10s\n";
  r = run_registrar({"drain", "--timeout", "5"});
  CHECK(r.status.exited_with(64));
  CHECK(r.err == "grpc-registrar drain" + missing_unit);
  r = run_registrar({"status", "--timeout", "5"});
  CHECK(r.status.exited_with(64));
  CHECK(r.err == "grpc-registrar status" + missing_unit);
  r = run_registrar({"deregister", "--etcd", "127.0.0.1:1", "--name", "a", "--timeout", "5"});
  CHECK(r.status.exited_with(64));
  CHECK(r.err == "grpc-registrar deregister" + missing_unit);
  r = run_registrar({"drain", "--timeout", "0s"});
  CHECK(r.err == "grpc-registrar drain: --timeout: invalid duration \"0s\" (must be above 0)\n");

  r = run_registrar({"--version"});
  CHECK(r.status.exited_with(0));
  CHECK(r.out.rfind("grpc-registrar ", 0) == 0);
  for (const std::string sub : {"", "run", "check", "register", "deregister", "probe", "resolve",
                                "watch", "drain", "status"}) {
    std::vector<std::string> args;
    if (!sub.empty()) args.push_back(sub);
    args.push_back("--help");
    r = run_registrar(args);
    INFO(sub);
    CHECK(r.status.exited_with(0));
    CHECK(r.out.find("Usage: grpc-registrar") != std::string::npos);
  }
}

TEST_CASE("ops cli: every flag in --help appears in docs/cli.md", "[ops][cli][docs]") {
  if (!have_binaries()) return;
  const std::string doc = read_text(source_dir() / "docs" / "cli.md");
  for (const std::string sub : {"", "run", "check", "register", "deregister", "probe", "resolve",
                                "watch", "drain", "status"}) {
    std::vector<std::string> args;
    if (!sub.empty()) args.push_back(sub);
    const auto flags = help_flags(args);
    CHECK(flags.size() >= 2);
    for (const auto& f : flags) {
      INFO("grpc-registrar " << sub << " --help lists " << f);
      // In a code span: `--flag ...` or `-x, --flag ...`
      const std::regex documented("(`|`-[a-z], )" + f + "([^a-z0-9-]|$)");
      CHECK(std::regex_search(doc, documented));
    }
    if (!sub.empty()) {
      INFO("docs/cli.md documents `" << sub << "`");
      CHECK(doc.find("### `" + sub + "`") != std::string::npos);
    }
  }
}

TEST_CASE("ops cli: secrets on the command line are warned about, in flags and in values",
          "[ops][cli]") {
  if (!have_binaries()) return;
  // Accepted with a warning (this registration then fails for want of --address).
  for (const std::string flag : {"--token", "--consul-token", "--password", "--etcd-password"}) {
    const auto r = run_registrar({"register", flag + "=" + kKnownPassword, "--name", "a"});
    INFO(r.err);
    CHECK(r.status.exited_with(64));
    CHECK(r.err.find("warning: " + flag + ": a secret on the command line") != std::string::npos);
    CHECK(r.err.find(kKnownPassword) == std::string::npos);
  }
  // A secret-looking meta key is accepted with a warning (the registration fails later for an
  // unrelated reason: the port).
  const auto r =
      run_registrar({"register", "--etcd", "127.0.0.1:1", "--name", "a", "--address", "h", "--port",
                     "0", "--meta", std::string("api_token=") + kKnownToken});
  CHECK(r.err.find("warning: --meta api_token: this looks like a secret") != std::string::npos);
  CHECK(r.err.find(kKnownToken) == std::string::npos);
}

TEST_CASE("ops cli: deregister removes a leftover key, by id or by address", "[ops][cli]") {
  if (!have_binaries()) return;
  EtcdServer etcd;
  const Etcdctl ctl = etcd.ctl();
  ctl.put("/services/hello/hello-1", "{}");
  ctl.put("/services/hello/hello-127.0.0.1-9", "{}");
  ctl.put("/gk/hello/127.0.0.1:9", "127.0.0.1:9");
  ctl.put("/services/other/x", "{}");

  auto r = run_registrar(
      {"deregister", "--etcd", etcd.endpoint(), "--name", "hello", "--id", "hello-1"});
  INFO(r.err);
  CHECK(r.status.exited_with(0));
  CHECK(r.out == "deleted /services/hello/hello-1\n");
  r = run_registrar({"deregister", "--etcd", etcd.endpoint(), "--name", "hello", "--address",
                     "127.0.0.1", "--port", "9"});
  CHECK(r.out == "deleted /services/hello/hello-127.0.0.1-9\n");
  r = run_registrar({"deregister", "--etcd", etcd.endpoint(), "--name", "hello", "--address",
                     "127.0.0.1", "--port", "9", "--prefix", "/gk", "--format", "gokit"});
  CHECK(r.out == "deleted /gk/hello/127.0.0.1:9\n");
  // Again: nothing to delete is not an error (clean-up is idempotent).
  r = run_registrar(
      {"deregister", "--etcd", etcd.endpoint(), "--name", "hello", "--id", "hello-1"});
  CHECK(r.status.exited_with(0));
  CHECK(r.out.find("was not registered") != std::string::npos);

  const auto left = ctl.get_prefix("/");
  REQUIRE(left.size() == 1);
  CHECK(left[0].key == "/services/other/x");

  // etcd unreachable: 69.
  r = run_registrar({"deregister", "--etcd", "127.0.0.1:" + std::to_string(free_port()), "--name",
                     "hello", "--id", "hello-1", "--timeout", "300ms"});
  CHECK(r.status.exited_with(69));
  CHECK(non_empty_lines(r.err).size() == 1);
}
