// Token: the file is preferred and re-read; the value never leaves the header.
#include "registry/consul/token.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "support/secrets.hpp"

using namespace registrar;
using registrar::registry::consul::Token;
using registrar::test::kKnownPassword;
using registrar::test::kKnownToken;

namespace {

struct Files {
  std::map<std::string, std::string> content;
  Token::ReadFile reader() {
    return [this](const std::string& path, std::string& error) -> std::optional<std::string> {
      auto it = content.find(path);
      if (it == content.end()) {
        error = "No such file or directory";
        return std::nullopt;
      }
      return it->second;
    };
  }
};

config::ConsulSpec spec(std::string token, std::string file, std::string source) {
  config::ConsulSpec s;
  s.token = std::move(token);
  s.token_file = std::move(file);
  s.token_source = std::move(source);
  return s;
}

}  // namespace

TEST_CASE("no token at all") {
  Files f;
  Token t(spec("", "", ""), f.reader());
  CHECK(t.load().empty());
  CHECK(t.value().empty());
  CHECK(t.source() == "no ACL token configured");
}

TEST_CASE("an inline token") {
  Files f;
  Token t(spec(kKnownToken, "", "CONSUL_HTTP_TOKEN"), f.reader());
  CHECK(t.load().empty());
  CHECK((t.value() == kKnownToken));
  CHECK(t.source() == "CONSUL_HTTP_TOKEN");
}

TEST_CASE("the token file is preferred, trimmed, and re-read on load()") {
  Files f;
  // (Known secrets: support/secrets.hpp; compared in double parentheses, so a failure prints
  // no value.)
  const std::string rotated = std::string(kKnownToken) + "-rotated";
  f.content["/t"] = std::string("  ") + kKnownToken + "\n";
  Token t(spec(kKnownPassword, "/t", "registry.consul.token_file (/t)"), f.reader());
  CHECK(t.load().empty());
  CHECK((t.value() == kKnownToken));
  CHECK(t.source() == "registry.consul.token_file (/t)");
  f.content["/t"] = rotated;
  CHECK(t.load().empty());
  CHECK((t.value() == rotated));
}

TEST_CASE("an empty token file falls back to the inline token, as Consul's tools do") {
  Files f;
  f.content["/t"] = "\n";
  Token t(spec(kKnownPassword, "/t", "registry.consul.token_file (/t)"), f.reader());
  CHECK(t.load().empty());
  CHECK((t.value() == kKnownPassword));
  CHECK(t.source() == "registry.consul.token or CONSUL_HTTP_TOKEN (the token file /t is empty)");
  Token none(spec("", "/t", "registry.consul.token_file (/t)"), f.reader());
  CHECK(none.load().empty());
  CHECK(none.source() == "no ACL token: the token file /t is empty");
}

TEST_CASE("an unreadable token file is an error that keeps the previous value") {
  Files f;
  f.content["/t"] = kKnownToken;
  Token t(spec("", "/t", "registry.consul.token_file (/t)"), f.reader());
  CHECK(t.load().empty());
  f.content.erase("/t");
  CHECK(t.load() == "cannot read token file /t: No such file or directory");
  CHECK((t.value() == kKnownToken));
  f.content["/t"] = std::string(kKnownToken) + "\n" + kKnownPassword;
  CHECK(t.load() == "token file /t holds more than one line");  // the content is not quoted
  CHECK((t.value() == kKnownToken));
}

TEST_CASE("scrub replaces every occurrence of the token") {
  Files f;
  Token t(spec(kKnownToken, "", "registry.consul.token"), f.reader());
  CHECK((t.scrub(std::string("denied for ") + kKnownToken + " and " + kKnownToken) ==
         "denied for <redacted> and <redacted>"));
  CHECK(t.scrub("nothing here") == "nothing here");
  Token none(spec("", "", ""), f.reader());
  CHECK(none.scrub("text") == "text");
}

TEST_CASE("read_file reads a real file") {
  std::string error;
  CHECK_FALSE(Token::read_file("/nonexistent/registrar-token", error));
  CHECK(error == "No such file or directory");  // load() adds the path
  const auto path = std::filesystem::temp_directory_path() /
                    ("registrar-token-test-" + std::to_string(::getpid()));
  std::ofstream(path) << kKnownToken << "\n";
  auto content = Token::read_file(path.string(), error);
  std::filesystem::remove(path);
  REQUIRE(content);
  CHECK((*content == std::string(kKnownToken) + "\n"));  // trimmed by load()
}
