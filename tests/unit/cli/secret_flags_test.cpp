#include "cli/secret_flags.hpp"

#include <catch2/catch.hpp>

#include "support/secrets.hpp"

using namespace registrar::cli;

using registrar::test::kKnownPassword;
using registrar::test::kKnownToken;

TEST_CASE("secret flags: names that look like secrets are found, files are fine", "[cli]") {
  CHECK(secret_flag({"register", "--token", "x"}) == "--token");
  CHECK(secret_flag({"register", "--consul-token=x"}) == "--consul-token");
  CHECK(secret_flag({"--etcd-password", "x"}) == "--etcd-password");
  CHECK(secret_flag({"--API-KEY=x"}) == "--API-KEY");  // case, '-' and '_' do not matter
  CHECK(secret_flag({"--api_key", "x"}) == "--api_key");
  CHECK(secret_flag({"--apikey=x"}) == "--apikey");
  CHECK(secret_flag({"--client-secret=x"}) == "--client-secret");
  CHECK(secret_flag({"--key=x"}).empty());  // not one of the words
  CHECK(secret_flag({"--Secret"}) == "--Secret");
  CHECK(secret_flag({"register", "--token-file", "/run/secrets/t"}).empty());
  CHECK(secret_flag({"register", "--name", "token"}).empty());  // values are not names
  CHECK(secret_flag({"--", "--token"}).empty());
}

TEST_CASE("secret flags: secret-looking values draw warnings", "[cli]") {
  auto w = secret_value_warnings({"register", "--meta", "api_token=abc", "--meta=zone=a"});
  REQUIRE(w.size() == 1);
  CHECK(w[0].rfind("--meta api_token: this looks like a secret", 0) == 0);
  CHECK(secret_value_warnings({"--consul", "http://user:pw@agent:8500"}).empty());
}

TEST_CASE("secret flags: the refusal says where the secret comes from, never the value", "[cli]") {
  // secret_flag returns the name only, so the refusal cannot contain the value.
  CHECK(secret_flag({"register", std::string("--token=") + kKnownToken}) == "--token");
  CHECK(secret_flag_refusal("--token") ==
        "--token: secrets are not accepted on the command line (every local user can read it in "
        "ps, and it stays in shell history); a Consul ACL token comes from --token-file FILE, "
        "$CONSUL_HTTP_TOKEN_FILE, $CONSUL_HTTP_TOKEN or registry.consul.token_file (under "
        "systemd: LoadCredential=)");
  CHECK(secret_flag_refusal("--Consul_Token").find("a Consul ACL token comes from") !=
        std::string::npos);
  for (const char* flag : {"--password", "--etcd-passwd", "--ETCD_PASSWORD"}) {
    const std::string r = secret_flag_refusal(flag);
    CHECK(r.rfind(std::string(flag) + ": secrets are not accepted on the command line", 0) == 0);
    CHECK(r.find("an etcd password comes from the file named by registry.etcd.password_file, or "
                 "from $ETCDCTL_PASSWORD") != std::string::npos);
  }
  for (const char* flag : {"--secret", "--credentials", "--api-key"}) {
    CHECK(secret_flag_refusal(flag).find(
              "put it in a file the manifest names (mode 0600), or in the environment") !=
          std::string::npos);
  }
}

TEST_CASE("secret flags: a password in a --consul or --etcd URL is refused, never quoted",
          "[cli]") {
  std::string e =
      password_in_url({"--etcd", std::string("http://u:") + kKnownPassword + "@h:2379"});
  CHECK(e ==
        "--etcd: a user name and password in the URL are not supported, and would show in ps and "
        "shell history; an etcd password comes from --etcd-password-file FILE "
        "(registry.etcd.password_file in a manifest) or $ETCDCTL_PASSWORD");
  e = password_in_url({"register", std::string("--consul=http://u:") + kKnownToken + "@h:8500"});
  CHECK(e.rfind("--consul: a user name and password in the URL are not supported", 0) == 0);
  CHECK(e.find("a Consul ACL token comes from --token-file FILE") != std::string::npos);
  CHECK((e.find(kKnownToken) == std::string::npos));
  CHECK(password_in_url({"--consul", "http://agent:8500/path@x"}).empty());
  CHECK(password_in_url({"--consul=http://user@agent:8500"}).empty());  // no password
  CHECK(password_in_url({"--meta", "http://u:p@h"}).empty());           // not an address
  CHECK(password_in_url({"--", "--consul", "http://u:p@h"}).empty());
}

TEST_CASE("secret flags: --token and --password still work, as their variables, with a warning",
          "[cli]") {
  const std::string token = kKnownToken;
  const std::string password = kKnownPassword;
  SecretArgs s = take_secret_args(
      {"--consul", "http://a:8500", "--token", token, "--name=x", "--etcd-password=" + password},
      "register");
  CHECK(s.error.empty());
  CHECK(s.args == std::vector<std::string>{"--consul", "http://a:8500", "--name=x"});
  // (Compared in double parentheses: on a failure Catch prints no value, so no secret.)
  REQUIRE(s.env.size() == 3);
  CHECK(s.env[0].first == "CONSUL_HTTP_TOKEN");
  CHECK((s.env[0].second == token));
  CHECK(s.env[1] == std::pair<std::string, std::string>{"CONSUL_HTTP_TOKEN_FILE", ""});
  CHECK(s.env[2].first == "ETCDCTL_PASSWORD");
  CHECK((s.env[2].second == password));
  // Where the values are, to overwrite them in argv: all of argument 3, argument 5 after '='.
  CHECK(s.value_at == std::vector<std::pair<std::size_t, std::size_t>>{{3, 0}, {5, 16}});
  REQUIRE(s.warnings.size() == 2);
  CHECK(s.warnings[0] ==
        "--token: a secret on the command line can be read by every local user (ps, "
        "/proc/PID/cmdline) and stays in shell history; it is used as $CONSUL_HTTP_TOKEN "
        "(registry.consul.token or token_file in the manifest wins over it); prefer --token-file "
        "FILE, $CONSUL_HTTP_TOKEN_FILE or $CONSUL_HTTP_TOKEN");
  CHECK(s.warnings[1].rfind("--etcd-password: a secret on the command line", 0) == 0);
  CHECK(s.warnings[1].find("it is used as $ETCDCTL_PASSWORD (registry.etcd.password_file wins "
                           "over it)") != std::string::npos);
  // Issue 19: it names the flag every registry command takes, register's included.
  CHECK(s.warnings[1].find("prefer --etcd-password-file FILE (registry.etcd.password_file in a "
                           "manifest) or $ETCDCTL_PASSWORD") != std::string::npos);
  for (const auto& w : s.warnings) {
    CHECK((w.find(token) == std::string::npos && w.find(password) == std::string::npos));
  }

  // Every subcommand that uses a registry; "" is `run`.
  for (const char* sub : {"", "run", "check", "register", "deregister"}) {
    s = take_secret_args({"--consul-token=" + token}, sub);
    CHECK(s.args.empty());
    CHECK(s.env.size() == 2);
  }
  // The others keep the flag, for secret_flag() to refuse.
  for (const char* sub : {"probe", "status", "drain"}) {
    s = take_secret_args({"--token", token}, sub);
    CHECK(s.error.empty());
    CHECK(s.env.empty());
    CHECK(secret_flag(s.args) == "--token");
  }
  // After "--" nothing is taken; other secret-looking flags stay for secret_flag().
  s = take_secret_args({"--api-key", "x", "--", "--token", "y"}, "run");
  CHECK(s.env.empty());
  CHECK(s.args.size() == 5);
  CHECK(secret_flag(s.args) == "--api-key");
}

TEST_CASE("secret flags: --token and --password usage errors never show the value", "[cli]") {
  const std::string token = kKnownToken;
  auto error = [](const std::vector<std::string>& args) {
    return take_secret_args(args, "deregister").error;
  };
  CHECK(error({"--token"}) == "--token: needs a value");
  CHECK(error({"--token", "--id", "a"}) == "--token: needs a value");
  CHECK(error({"--token="}) == "--token: the value is empty");
  CHECK(error({"--token", token, "--consul-token", token}) ==
        "--consul-token: given more than once");
  CHECK(error({"--token", token, "--token-file", "/run/t"}) ==
        "--token and --token-file: give one of them");
  CHECK(error({"--etcd-password-file=/run/p", "--password", kKnownPassword}) ==
        "--password and --etcd-password-file: give one of them");
  const SecretArgs s = take_secret_args({"--token", token, "--token-file=/t"}, "run");
  CHECK(s.env.empty());  // nothing is set on an error
}
