// runtime::read_token_file: one message per problem (missing, unreadable, not a regular file,
// too large, several lines, control characters), an empty file reported as such, never the
// content in a message.
#include "runtime/token_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "support/secrets.hpp"
#include "support/temp_dir.hpp"

using registrar::runtime::kMaxTokenFileBytes;
using registrar::runtime::read_token_file;
using registrar::test::kKnownPassword;
using registrar::test::kKnownToken;
using registrar::test::TempDir;

namespace {
// The error for `path`, which must be refused.
std::string refusal(const std::string& path) {
  std::string error;
  CHECK_FALSE(read_token_file(path, error));
  CHECK(error.find(kKnownToken) == std::string::npos);
  CHECK(error.find(kKnownPassword) == std::string::npos);
  return error;
}
}  // namespace

TEST_CASE("token file: the token alone, trimmed", "[runtime][token]") {
  TempDir dir("registrar-token");
  const auto path = dir.write_file("t", std::string("  ") + kKnownToken + "\r\n");
  ::chmod(path.c_str(), 0600);
  std::string error;
  const auto file = read_token_file(path.string(), error);
  REQUIRE(file);
  CHECK((file->token == kKnownToken));
  CHECK_FALSE(file->empty);
}

TEST_CASE("token file: an empty file is reported, not refused", "[runtime][token]") {
  TempDir dir("registrar-token");
  for (const std::string content : {"", "\n", "  \n\n"}) {
    const auto path = dir.write_file("t", content);
    std::string error;
    const auto file = read_token_file(path.string(), error);
    REQUIRE(file);
    CHECK(file->empty);
    CHECK(file->token.empty());
  }
}

TEST_CASE("token file: one clear reason per problem", "[runtime][token]") {
  TempDir dir("registrar-token");
  CHECK(refusal((dir.path() / "missing").string()) == "No such file or directory");
  CHECK(refusal(dir.path().string()) == "it is a directory, not a regular file");
  CHECK(refusal("/dev/zero") == "it is a character device, not a regular file");
  const auto fifo = (dir.path() / "fifo").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(refusal(fifo) == "it is a FIFO, not a regular file");  // refused, not waited on

  const std::string limit = "it is larger than " + std::to_string(kMaxTokenFileBytes) +
                            " bytes, the limit for a token file";
  CHECK(refusal(dir.write_file("big", std::string(kMaxTokenFileBytes + 1, 'a')).string()) == limit);
  {  // 100 MiB, sparse: refused from its size, without reading it
    const auto huge = (dir.path() / "huge").string();
    std::ofstream(huge).close();
    REQUIRE(::truncate(huge.c_str(), 100L << 20) == 0);
    CHECK(refusal(huge) == limit);
  }
  std::string error;
  CHECK(read_token_file(dir.write_file("max", std::string(kMaxTokenFileBytes, 'a')).string(),
                        error));  // exactly the limit is accepted

  CHECK(refusal(dir.write_file("two", std::string(kKnownToken) + "\n" + kKnownPassword + "\n")
                    .string()) ==
        "it holds more than one line; a token file holds the token alone");
  CHECK(refusal(dir.write_file("ctl", std::string(kKnownToken) + "\x01x").string()) ==
        "it holds a control character; a token file holds the token alone");
  if (::geteuid() != 0) {  // root reads anything
    const auto locked = dir.write_file("locked", kKnownToken);
    ::chmod(locked.c_str(), 0);
    CHECK(refusal(locked.string()) == "Permission denied");
  }
}
