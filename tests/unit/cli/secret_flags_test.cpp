#include "cli/secret_flags.hpp"

#include <catch2/catch.hpp>

using namespace registrar::cli;

TEST_CASE("secret flags: names that look like secrets are found, files are fine", "[cli]") {
  CHECK(secret_flag({"register", "--token", "x"}) == "--token");
  CHECK(secret_flag({"register", "--consul-token=x"}) == "--consul-token");
  CHECK(secret_flag({"--etcd-password", "x"}) == "--etcd-password");
  CHECK(secret_flag({"--API-KEY=x"}).empty());  // not one of the words
  CHECK(secret_flag({"--apikey=x"}) == "--apikey");
  CHECK(secret_flag({"--Secret"}) == "--Secret");
  CHECK(secret_flag({"register", "--token-file", "/run/secrets/t"}).empty());
  CHECK(secret_flag({"register", "--name", "token"}).empty());  // values are not names
  CHECK(secret_flag({"--", "--token"}).empty());
}

TEST_CASE("secret flags: secret-looking values draw warnings", "[cli]") {
  auto w = secret_value_warnings({"register", "--meta", "api_token=abc", "--meta=zone=a"});
  REQUIRE(w.size() == 1);
  CHECK(w[0].rfind("--meta api_token: this looks like a secret", 0) == 0);
  w = secret_value_warnings({"--consul", "http://user:pw@agent:8500"});
  REQUIRE(w.size() == 1);
  CHECK(w[0].rfind("--consul: a password in the URL", 0) == 0);
  CHECK(w[0].find("pw") == std::string::npos);
  CHECK(secret_value_warnings({"--consul", "http://agent:8500/path@x"}).empty());
  CHECK(secret_value_warnings({"--consul=http://user@agent:8500"}).empty());  // no password
}
