// The status server against local users and browsers (issue 18), with the real binary, a real
// etcd and the example service: as user 65534 (setpriv, or a forked child that drops to it),
// holding every connection it may does not make `grpc-registrar status` fail; a cross-site form
// post does not drain; only a user the control socket's mode permits can drain, and the daemon
// logs who did; a non-loopback status address needs allow_remote; an unusable token file is
// refused by `check` and `run` alike.
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "ops_itest.hpp"
#include "support/paths.hpp"
#include "support/ports.hpp"
#include "support/raw_tcp.hpp"
#include "support/require.hpp"

using namespace registrar::itest;
using registrar::test::raw_exchange;

namespace {

constexpr uid_t kNobody = 65534;

// A directory that user 65534 may enter, so that only the socket's own mode decides.
struct OpenDir {
  TempDir dir{"registrar-guard"};
  OpenDir() { ::chmod(dir.path().c_str(), 0755); }
  std::string socket() const { return (dir.path() / "control.sock").string(); }
};

std::string guarded_manifest(const ManifestParams& m, const std::string& socket) {
  return manifest_yaml(m) + "status:\n  listen: \"127.0.0.1:0\"\n  control_socket: \"" + socket +
         "\"\n";
}

// Runs grpc-registrar as user 65534 through setpriv.
CommandResult run_as_nobody(const std::vector<std::string>& args) {
  std::vector<std::string> full = {"--reuid",        std::to_string(kNobody),
                                   "--regid",        std::to_string(kNobody),
                                   "--clear-groups", *registrar::test::registrar_bin()};
  full.insert(full.end(), args.begin(), args.end());
  return registrar::test::run_command("/usr/bin/setpriv", full, 20s);
}

bool can_switch_users() {
  return registrar::test::need(::geteuid() == 0 && ::access("/usr/bin/setpriv", X_OK) == 0,
                               "root and /usr/bin/setpriv, to act as user 65534");
}

// The child's loop, as user 65534: keeps as many connections to the TCP status port open as the
// server takes in all (64), reopening every one it closes every 50 ms, until killed (or 120 s).
// Only system calls after fork.
[[noreturn]] void hold_connections(std::uint16_t port, int ready_fd) {
  constexpr int kHeld = 64;
  if (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) _exit(3);
  int fds[kHeld];
  for (int& fd : fds) fd = -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int round = 0; round < 2400; ++round) {  // 2400 x 50 ms = 120 s at most
    for (int& fd : fds) {
      if (fd >= 0) {
        pollfd p{fd, POLLIN, 0};
        char c;
        if (::poll(&p, 1, 0) > 0 && ::recv(fd, &c, 1, MSG_DONTWAIT) <= 0) {
          ::close(fd);
          fd = -1;
        }
      }
      if (fd < 0) {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
          ::close(fd);
          fd = -1;
        }
      }
    }
    if (round == 0) {
      const char one = '1';
      (void)!::write(ready_fd, &one, 1);
    }
    ::usleep(50000);
  }
  _exit(0);
}

}  // namespace

TEST_CASE("ops status guard: a cross-site post does not drain, and only a permitted user can",
          "[ops][status][guard]") {
  if (!have_binaries() || !can_switch_users()) return;
  EtcdServer etcd;
  const Etcdctl ctl = etcd.ctl();
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(hello, "hello-1")};
  OpenDir dir;
  Daemon d(guarded_manifest(m, dir.socket()));
  DumpOnFailure dump(d.process());
  const auto port = wait_for_status_port(d.process());
  REQUIRE(port);
  REQUIRE(wait_for_keys(ctl, "/services", {"/services/hello/hello-1"}));
  struct stat st {};
  REQUIRE(::stat(dir.socket().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);

  // What a hostile page's form sends, through the browser, to 127.0.0.1.
  const std::string form =
      "POST /v1/drain HTTP/1.1\r\nHost: attacker.example\r\nOrigin: http://attacker.example\r\n"
      "Content-Type: text/plain\r\nContent-Length: 3\r\n\r\nx=1";
  CHECK(raw_exchange(*port, form).rfind("HTTP/1.1 403", 0) == 0);
  // And DNS rebinding, reading the services.
  CHECK(raw_exchange(*port, "GET /v1/services HTTP/1.1\r\nHost: attacker.example:80\r\n\r\n")
            .rfind("HTTP/1.1 421", 0) == 0);
  // Even a plain local POST on TCP: reachability is not permission.
  const auto tcp_drain = http(*port, "/v1/drain", "POST");
  REQUIRE(tcp_drain);
  CHECK(tcp_drain->status == 403);
  CHECK(d.wait_for_log(std::regex("POST /v1/drain from 127\\.0\\.0\\.1:[0-9]+ .*refused")));

  // User 65534: the kernel refuses the connection (mode 0660); reading falls back to TCP.
  auto r = run_as_nobody({"drain", "--control-socket", dir.socket(), "--timeout", "5s"});
  CHECK(r.status.exited_with(69));
  CHECK(r.err.find("Permission denied") != std::string::npos);
  r = run_as_nobody({"status", "--control-socket", dir.socket(), "--ready"});
  CHECK(r.status.exited_with(1));
  CHECK(r.err.find("Permission denied") != std::string::npos);
  // Reading needs no permission: `status` falls back to the TCP address, and says so.
  const std::string address = "127.0.0.1:" + std::to_string(*port);
  const auto client =
      dir.dir.write_file("client.yaml", "services: []\nstatus:\n  listen: \"" + address +
                                            "\"\n  control_socket: \"" + dir.socket() + "\"\n");
  ::chmod(client.c_str(), 0644);
  r = run_as_nobody({"status", "-c", client.string(), "--ready"});
  INFO(r.err);
  CHECK(r.status.exited_with(0));
  CHECK(r.err.find("Permission denied; asking the status server at " + address) !=
        std::string::npos);
  CHECK(nlohmann::json::parse(r.out)["ready"] == true);
  CHECK(ctl.get("/services/hello/hello-1"));  // nothing drained
  CHECK_FALSE(d.find_log(std::regex("draining")));

  // Root (the daemon's user) drains, and the log names the caller.
  r = run_registrar({"drain", "-c", d.manifest_path().string()});
  INFO(r.err);
  CHECK(r.status.exited_with(0));
  CHECK(ctl.get_prefix("/services").empty());
  CHECK(d.wait_for_log(
      std::regex("POST /v1/drain from uid 0, pid [0-9]+, on the control socket: draining")));
  CHECK(d.terminate().exited_with(0));
  CHECK_FALSE(std::filesystem::exists(dir.socket()));  // removed at exit
}

TEST_CASE("ops status guard: a local user holding every connection it may cannot starve status",
          "[ops][status][guard]") {
  if (!have_binaries() || !can_switch_users()) return;
  EtcdServer etcd;
  const Etcdctl ctl = etcd.ctl();
  HelloService hello;
  ManifestParams m;
  m.endpoints = {etcd.endpoint()};
  m.services = {entry_for(hello, "hello-1")};
  OpenDir dir;
  Daemon d(guarded_manifest(m, dir.socket()));
  DumpOnFailure dump(d.process());
  const auto port = wait_for_status_port(d.process());
  REQUIRE(port);
  REQUIRE(wait_for_keys(ctl, "/services", {"/services/hello/hello-1"}));
  REQUIRE(wait_until(
      [&] {
        const auto r = http(*port, "/readyz");
        return r && r->status == 200;
      },
      10s));

  int ready[2];
  REQUIRE(::pipe2(ready, O_CLOEXEC) == 0);
  const pid_t holder = ::fork();
  REQUIRE(holder >= 0);
  if (holder == 0) hold_connections(*port, ready[1]);
  ::close(ready[1]);
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);  // it holds what the server let it open
  ::close(ready[0]);

  const std::string address = "127.0.0.1:" + std::to_string(*port);
  int status_ok = 0, ready_tcp_ok = 0, healthz_ok = 0;
  constexpr int kTries = 25;
  for (int i = 0; i < kTries; ++i) {
    // The default way: the control socket.
    if (run_registrar({"status", "-c", d.manifest_path().string(), "-q"}).status.exited_with(0))
      ++status_ok;
    // TCP too: user 65534 holds its own share, not everyone's.
    if (run_registrar({"status", "--status-address", address, "--ready", "-q"})
            .status.exited_with(0))
      ++ready_tcp_ok;
    const auto h = http(*port, "/healthz");
    if (h && h->status == 200) ++healthz_ok;
  }
  ::kill(holder, SIGKILL);
  int wstatus = 0;
  ::waitpid(holder, &wstatus, 0);
  CHECK(status_ok == kTries);
  CHECK(ready_tcp_ok == kTries);
  CHECK(healthz_ok == kTries);
  CHECK(ctl.get("/services/hello/hello-1"));
  CHECK(d.terminate().exited_with(0));
}

TEST_CASE("ops status guard: a non-loopback status address needs allow_remote",
          "[ops][status][guard]") {
  if (!have_binaries()) return;
  const ManifestFile wildcard("services: []\nstatus:\n  listen: \"0.0.0.0:0\"\n");
  auto r = run_registrar({"check", "-c", wildcard.path().string()});
  CHECK(r.status.exited_with(78));
  CHECK(r.err.find("status.listen: 0.0.0.0:0 is not a loopback address") != std::string::npos);
  r = run_registrar({"run", "-c", wildcard.path().string()});
  CHECK(r.status.exited_with(78));

  const ManifestFile allowed(
      "services: []\nstatus:\n  listen: \"[::]:0\"\n  allow_remote: true\n  control_socket: off\n");
  r = run_registrar({"check", "-c", allowed.path().string()});
  CHECK(r.status.exited_with(0));
  CHECK(r.err.find("warning: status.listen [::]:0 is not a loopback address "
                   "(status.allow_remote: true)") != std::string::npos);
  CHECK(r.out.find("allow_remote: true") != std::string::npos);

  const ManifestFile loopback("services: []\n");
  r = run_registrar({"run", "-c", loopback.path().string(), "--status-listen", "0.0.0.0:0"});
  CHECK(r.status.exited_with(64));
  CHECK(r.err.find("--status-listen: 0.0.0.0:0 is not a loopback address") != std::string::npos);
}

TEST_CASE("ops status guard: check and run refuse the same unusable token files",
          "[ops][status][guard]") {
  if (!have_binaries()) return;
  TempDir dir("registrar-token-files");
  const auto two_lines = dir.write_file("two", "a\nb\n");
  const auto big = dir.write_file("big", std::string(65537, 'a'));
  const auto empty = dir.write_file("empty", "\n");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {(dir.path() / "missing").string(), "No such file or directory"},
      {dir.path().string(), "it is a directory, not a regular file"},
      {"/dev/zero", "it is a character device, not a regular file"},
      {big.string(), "it is larger than 65536 bytes, the limit for a token file"},
      {two_lines.string(), "it holds more than one line; a token file holds the token alone"}};
  for (const auto& [path, reason] : cases) {
    INFO(path);
    const ManifestFile m(
        "registry:\n  kind: consul\n  consul:\n    address: 127.0.0.1:1\n"
        "    token_file: \"" +
        path + "\"\nservices: []\n");
    const std::string line = "registry.consul.token_file: cannot read " + path + ": " + reason;
    const auto check = run_registrar({"check", "-c", m.path().string()});
    CHECK(check.status.exited_with(78));
    CHECK(check.err.find(line) != std::string::npos);
    const auto run = run_registrar({"run", "-c", m.path().string()});
    CHECK(run.status.exited_with(78));
    CHECK(run.err.find(line) != std::string::npos);
    CHECK(non_empty_lines(run.err).size() == 1);
  }
  // An empty file: accepted, and said to mean "no token".
  const ManifestFile m(
      "registry:\n  kind: consul\n  consul:\n    address: 127.0.0.1:1\n"
      "    token_file: \"" +
      empty.string() + "\"\nservices: []\n");
  const auto check = run_registrar({"check", "-c", m.path().string()});
  CHECK(check.status.exited_with(0));
  CHECK(check.err.find("is empty: requests go without an ACL token (anonymous)") !=
        std::string::npos);
}
