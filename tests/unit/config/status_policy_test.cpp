// The status section's rules: non-loopback listen addresses need status.allow_remote (and `check`
// then warns), the control socket's path and its defaults ($RUNTIME_DIRECTORY, /run).
#include "config/status_policy.hpp"

#include <catch2/catch.hpp>

#include "config/effective.hpp"
#include "test_env.hpp"

using namespace registrar::config;
using registrar::config::test::env_of;
using registrar::config::test::error_of;
using registrar::config::test::parse;

namespace {
bool loopback(const std::string& text) {
  std::string why;
  const auto a = parse_listen_address(text, why);
  REQUIRE(a);
  return is_loopback(*a);
}
}  // namespace

TEST_CASE("status policy: which listen addresses are loopback", "[config][status]") {
  CHECK(loopback("127.0.0.1:1"));
  CHECK(loopback("127.1.2.3:1"));
  CHECK(loopback("localhost:1"));
  CHECK(loopback("[::1]:1"));
  CHECK(loopback("[::ffff:127.0.0.1]:1"));
  CHECK_FALSE(loopback("0.0.0.0:1"));  // every interface, loopback included
  CHECK_FALSE(loopback("[::]:1"));
  CHECK_FALSE(loopback("10.0.0.1:1"));
  CHECK_FALSE(loopback("[::ffff:10.0.0.1]:1"));
}

TEST_CASE("status policy: a non-loopback listen address is refused without allow_remote",
          "[config][status]") {
  CHECK(error_of("status:\n  listen: 0.0.0.0:9901\n") ==
        "m.yaml:2:11: status.listen: 0.0.0.0:9901 is not a loopback address: /healthz, /readyz, "
        "/v1/services and /metrics would be open to the network; set status.allow_remote: true "
        "(or --status-allow-remote) to allow it");
  CHECK(error_of("status:\n  listen: \"[::]:9901\"\n").find("[::]:9901 is not a loopback") !=
        std::string::npos);
  CHECK(error_of("status:\n  listen: 10.0.0.1:9901\n  allow_remote: false\n")
            .find("is not a loopback address") != std::string::npos);
  CHECK(error_of("status:\n  allow_remote: maybe\n").find("status.allow_remote") !=
        std::string::npos);
  const Manifest m = parse("status:\n  listen: 0.0.0.0:9901\n  allow_remote: true\n");
  CHECK(m.status.allow_remote);
  CHECK(m.status.listen == "0.0.0.0:9901");
  CHECK(remote_status_warning(m.status) ==
        "status.listen 0.0.0.0:9901 is not a loopback address (status.allow_remote: true): "
        "/healthz, /readyz, /v1/services and /metrics are open to the network; drain stays on "
        "the control socket");
  CHECK(remote_status_warning(parse("status: {listen: 127.0.0.1:1}\n").status).empty());
  // The effective configuration keeps the choice, and reads back the same.
  const std::string text = render_effective(m);
  CHECK(text.find("status:\n  listen: 0.0.0.0:9901\n  allow_remote: true") != std::string::npos);
  CHECK(parse(text).status.allow_remote);
}

TEST_CASE("status policy: the control socket's path", "[config][status]") {
  const auto no_env = env_of({});
  const auto systemd = env_of({{"RUNTIME_DIRECTORY", "/run/grpc-registrar:/run/other"}});
  const StatusSpec listening = parse("status: {listen: 127.0.0.1:1}\n").status;
  CHECK(control_socket_path(listening, no_env) == "/run/grpc-registrar/control.sock");
  CHECK(control_socket_path(listening, env_of({{"RUNTIME_DIRECTORY", "/tmp/rt"}})) ==
        "/tmp/rt/control.sock");
  CHECK(control_socket_path(listening, systemd) == "/run/grpc-registrar/control.sock");
  CHECK(control_socket_path(StatusSpec{}, no_env).empty());  // no status server, none asked
  const StatusSpec explicit_path = parse("status: {control_socket: /srv/r/c.sock}\n").status;
  CHECK(control_socket_path(explicit_path, systemd) == "/srv/r/c.sock");
  CHECK(control_socket_candidates(explicit_path, systemd) ==
        std::vector<std::string>{"/srv/r/c.sock"});
  const StatusSpec off = parse("status: {listen: 127.0.0.1:1, control_socket: off}\n").status;
  CHECK(control_socket_path(off, no_env).empty());
  CHECK(control_socket_candidates(off, no_env).empty());
  CHECK(control_socket_candidates(StatusSpec{}, env_of({{"RUNTIME_DIRECTORY", "/tmp/rt"}})) ==
        std::vector<std::string>{"/tmp/rt/control.sock", "/run/grpc-registrar/control.sock"});
  CHECK(
      error_of("status: {control_socket: run/c.sock}\n") ==
      R"(m.yaml:1:26: status.control_socket: expected an absolute path or off, got "run/c.sock")");
  CHECK(error_of("status: {control_socket: /" + std::string(120, 'a') + "}\n")
            .find("a Unix socket path has at most 107 bytes") != std::string::npos);
  CHECK(render_effective(parse("status: {control_socket: /srv/r/c.sock}\n"))
            .find("status:\n  control_socket: /srv/r/c.sock") != std::string::npos);
}
