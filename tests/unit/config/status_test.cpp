// The `status:` section: the status server's listen address.
#include <catch2/catch.hpp>

#include "config/effective.hpp"
#include "config/listen_address.hpp"
#include "test_env.hpp"

using namespace registrar::config;
using registrar::config::test::error_of;
using registrar::config::test::parse;

TEST_CASE("status: off unless status.listen is set", "[config][status]") {
  CHECK(parse("services: []\n").status.listen.empty());
  CHECK(parse("status:\n").status.listen.empty());  // an empty section is the same as none
  CHECK(render_effective(parse("services: []\n")).find("status") == std::string::npos);
}

TEST_CASE("status: listen addresses are normalised", "[config][status]") {
  CHECK(parse("status: {listen: 127.0.0.1:9901}\n").status.listen == "127.0.0.1:9901");
  CHECK(parse("status: {listen: \"localhost:9901\"}\n").status.listen == "127.0.0.1:9901");
  CHECK(parse("status: {listen: \"[::1]:9901\"}\n").status.listen == "[::1]:9901");
  CHECK(parse("status: {listen: \"0.0.0.0:0\", allow_remote: true}\n").status.listen ==
        "0.0.0.0:0");
  CHECK(parse("status:\n  listen: ${ADDR:-127.0.0.1:1}\n").status.listen == "127.0.0.1:1");
}

TEST_CASE("status: the effective configuration keeps the listen address", "[config][status]") {
  const Manifest m = parse("status: {listen: 127.0.0.1:9901}\n");
  const std::string text = render_effective(m);
  CHECK(text.find("status:\n  listen: 127.0.0.1:9901") != std::string::npos);
  CHECK(parse(text).status.listen == "127.0.0.1:9901");
}

TEST_CASE("status: bad listen addresses are refused with their position", "[config][status]") {
  CHECK(
      error_of("status:\n  listen: 9901\n") ==
      R"(m.yaml:2:11: status.listen: expected host:port, got "9901" (e.g. 127.0.0.1:9901 or [::1]:9901))");
  CHECK(
      error_of("status:\n  listen: example.com:9901\n") ==
      R"(m.yaml:2:11: status.listen: "example.com" is not an IP address (hostnames other than localhost are not accepted) (e.g. 127.0.0.1:9901 or [::1]:9901))");
  CHECK(error_of("status:\n  listen: 127.0.0.1:70000\n") ==
        R"(m.yaml:2:11: status.listen: invalid port "70000" (0-65535; 0 picks a free port))");
  CHECK(
      error_of("status:\n  listen: \"::1:9901\"\n") ==
      R"(m.yaml:2:11: status.listen: an IPv6 address needs brackets, got "::1:9901" (e.g. 127.0.0.1:9901 or [::1]:9901))");
  CHECK(
      error_of("status:\n  listen: \"[nope]:1\"\n") ==
      R"(m.yaml:2:11: status.listen: "nope" is not an IPv6 address (e.g. 127.0.0.1:9901 or [::1]:9901))");
  CHECK(error_of("status:\n  listen: [a]\n") ==
        R"(m.yaml:2:11: status.listen: expected a string, got a list)");
  CHECK(
      error_of("status:\n  port: 1\n") ==
      R"(m.yaml:2:3: status.port: unknown key "port" (allowed: listen, allow_remote, control_socket))");
}

// inet_pton reads a C string: before the fix "[::1<NUL>...]:379" passed as [::1] (found by the
// config_helpers fuzz target; tests/fuzz/regressions/config_helpers/listen-*).
TEST_CASE("status: a NUL byte in a listen address is refused", "[config][status]") {
  std::string why;
  using namespace std::string_literals;
  CHECK_FALSE(parse_listen_address("[::1\0garbage]:9901"s, why));
  CHECK(why.find("is not an IPv6 address") != std::string::npos);
  CHECK_FALSE(parse_listen_address("127.0.0.1\0x:9901"s, why));
  CHECK(why.find("is not an IP address") != std::string::npos);
  CHECK_FALSE(parse_listen_address("[::1"s + std::string(64, '\0') + "]:379", why));
  CHECK(parse_listen_address("[::1]:379", why));
}

TEST_CASE("status: connect_address maps wildcards to loopback", "[config][status]") {
  std::string why;
  auto a = parse_listen_address("0.0.0.0:9901", why);
  REQUIRE(a);
  CHECK(to_string(connect_address(*a)) == "127.0.0.1:9901");
  a = parse_listen_address("[::]:9901", why);
  REQUIRE(a);
  CHECK(to_string(connect_address(*a)) == "[::1]:9901");
  a = parse_listen_address("10.1.2.3:1", why);
  REQUIRE(a);
  CHECK(to_string(connect_address(*a)) == "10.1.2.3:1");
}
