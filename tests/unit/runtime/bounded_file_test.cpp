// runtime::read_bounded_file: the whole content up to the limit, a refusal past it (also for a
// file that never ends), and errors that give the reason without the path or any content.
#include "runtime/bounded_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "support/temp_dir.hpp"

using registrar::runtime::kMaxCredentialFileBytes;
using registrar::runtime::read_bounded_file;
using registrar::test::TempDir;

TEST_CASE("bounded file: the exact content, binary bytes included, up to the limit") {
  TempDir dir;
  const std::string text = "-----BEGIN CERTIFICATE-----\n" + std::string(1, '\0') + "\xff" +
                           std::string(10000, 'x') + "\n-----END CERTIFICATE-----\n";
  const std::string path = dir.write_file("ca.pem", text).string();
  std::string error;
  auto content = read_bounded_file(path, kMaxCredentialFileBytes, error);
  REQUIRE(content);
  CHECK(*content == text);
  CHECK(error.empty());

  // A file of exactly max_bytes is read; one byte more is refused.
  auto exact = read_bounded_file(path, text.size(), error);
  REQUIRE(exact);
  CHECK(*exact == text);
  CHECK_FALSE(read_bounded_file(path, text.size() - 1, error));
  CHECK(error == "larger than " + std::to_string(text.size() - 1) + " bytes");

  const std::string empty = dir.write_file("empty", "").string();
  auto nothing = read_bounded_file(empty, 16, error);
  REQUIRE(nothing);
  CHECK(nothing->empty());
}

TEST_CASE("bounded file: a file that never ends is refused at the limit") {
  std::string error;
  CHECK_FALSE(read_bounded_file("/dev/zero", kMaxCredentialFileBytes, error));
  CHECK(error == "larger than 1048576 bytes");
}

TEST_CASE("bounded file: errors give the reason only") {
  TempDir dir;
  std::string error;
  CHECK_FALSE(read_bounded_file(dir.path().string() + "/missing.pem", 1024, error));
  CHECK(error == "No such file or directory");
  CHECK_FALSE(read_bounded_file(dir.path().string(), 1024, error));
  CHECK(error == "Is a directory");
}

TEST_CASE("bounded file: a FIFO nobody writes to reads as empty instead of blocking") {
  TempDir dir;
  const std::string fifo = dir.path().string() + "/token.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::string error;
  auto content = read_bounded_file(fifo, 1024, error);  // before the fix: open() never returned
  REQUIRE(content);
  CHECK(content->empty());

  // An anonymous pipe (what `--token-file <(command)` gives, as /dev/fd/N) is read to its end.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const std::string text = "from-a-pipe";
  REQUIRE(::write(fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fds[1]);
  auto piped = read_bounded_file("/dev/fd/" + std::to_string(fds[0]), 1024, error);
  ::close(fds[0]);
  REQUIRE(piped);
  CHECK(*piped == text);
}
