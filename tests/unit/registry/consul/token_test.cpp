// Token: the file is preferred and re-read; the value never leaves the header.
#include "registry/consul/token.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>

#include "runtime/redact.hpp"
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
  // The content is not quoted; the words are read_token_file's.
  CHECK(t.load() ==
        "cannot read token file /t: it holds more than one line; a token file holds the token "
        "alone");
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
  CHECK((*content == kKnownToken));  // trimmed, as runtime::read_token_file returns it
  // Whatever is not a regular file of one line within the limit is refused with its reason.
  CHECK_FALSE(Token::read_file("/dev/zero", error));
  CHECK(error == "it is a character device, not a regular file");
  CHECK_FALSE(Token::read_file(std::filesystem::temp_directory_path().string(), error));
  CHECK(error == "it is a directory, not a regular file");
}

TEST_CASE("scrub redacts case variants and prefixes of the token") {
  Files f;
  const std::string token = kKnownToken;
  Token t(spec(token, "", "registry.consul.token"), f.reader());
  std::string upper = token;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(t.scrub("echo " + upper) == "echo <redacted>");
  CHECK(t.scrub("echo " + token.substr(0, 20) + "...") == "echo <redacted>...");
}

TEST_CASE("describe redacts before it cuts: no part of a token after 180 bytes shows") {
  Files f;
  const std::string token = kKnownToken;
  Token t(spec(token, "", "registry.consul.token"), f.reader());
  // The report of issue 18: a 403 body of 180 bytes followed by the token. Cut first, the first
  // 20 characters of the token were left, which no search for the whole token finds.
  const std::string body = std::string(180, 'x') + token + " rest";
  const std::string text = t.describe(403, body);
  CHECK(text.rfind("403 " + std::string(180, 'x') + "<redacted>", 0) == 0);
  CHECK(text.find(token.substr(0, registrar::runtime::kMinRedactedPrefix)) == std::string::npos);
  // And in every position around the cut.
  for (std::size_t pad = 150; pad < 210; ++pad) {
    const std::string d = t.describe(403, std::string(pad, 'y') + token + std::string(300, 'z'));
    INFO(pad);
    CHECK(d.find(token.substr(0, registrar::runtime::kMinRedactedPrefix)) == std::string::npos);
  }
}
