// runtime::read_secret_file: exact content, trimming of trailing newlines, the size limit, errors
// that name the path and never the content, and the once-per-path world-readable warning (caught
// by a test spdlog sink installed as the default logger).
#include "runtime/secret_file.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <memory>
#include <sstream>
#include <string>

#include "support/secrets.hpp"
#include "support/temp_dir.hpp"

using registrar::runtime::read_secret_file;
using registrar::runtime::SecretReadOptions;
using registrar::runtime::warn_if_world_readable;
using registrar::runtime::world_readable;
using registrar::test::kKnownPassword;
using registrar::test::kKnownToken;
using registrar::test::TempDir;

namespace {

// Captures what spdlog's default logger writes while it lives ("level: message" lines), and
// puts the previous default logger back.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%l: %v");
    auto logger = std::make_shared<spdlog::logger>("secret-file-test", sink);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  std::string text() const { return out_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream out_;
};

std::string write(const TempDir& dir, const std::string& name, const std::string& content,
                  mode_t mode) {
  const auto path = dir.write_file(name, content);
  REQUIRE(::chmod(path.c_str(), mode) == 0);
  return path.string();
}

}  // namespace

TEST_CASE("secret file: the whole content, byte for byte, unless trimming is asked for",
          "[runtime][secret]") {
  CapturedLog log;
  TempDir dir("secret-file");
  const std::string raw = std::string(kKnownToken) + "\r\n\n";
  const std::string path = write(dir, "token", raw, 0600);
  std::string error;

  auto content = read_secret_file(path, error);
  REQUIRE(content.has_value());
  CHECK((*content == raw));  // (no values printed on failure: they are secrets)
  CHECK(error.empty());

  SecretReadOptions trim;
  trim.trim_trailing_newlines = true;
  content = read_secret_file(path, error, trim);
  REQUIRE(content.has_value());
  CHECK((*content == kKnownToken));

  // Only trailing "\n" and "\r" go: spaces and inner newlines stay.
  const std::string spaced = write(dir, "spaced", " a\nb \n", 0600);
  content = read_secret_file(spaced, error, trim);
  REQUIRE(content.has_value());
  CHECK(*content == " a\nb ");

  // Binary content (a DER key, say) comes through unchanged, NULs included.
  const std::string binary("\x30\x82\x00\x01\xff", 5);
  const std::string bin_path = write(dir, "key.der", binary, 0600);
  content = read_secret_file(bin_path, error);
  REQUIRE(content.has_value());
  CHECK(*content == binary);

  const std::string empty = write(dir, "empty", "", 0600);
  content = read_secret_file(empty, error, trim);
  REQUIRE(content.has_value());
  CHECK(content->empty());
  CHECK(log.text().empty());  // nothing is logged for files only the owner reads
}

TEST_CASE("secret file: larger than max_bytes is refused, naming the path and the limit only",
          "[runtime][secret]") {
  TempDir dir("secret-file");
  const std::string password(kKnownPassword);
  SecretReadOptions small;
  small.max_bytes = password.size();
  std::string error;

  const std::string exact = write(dir, "exact", password, 0600);
  auto content = read_secret_file(exact, error, small);
  REQUIRE(content.has_value());
  CHECK((*content == password));

  const std::string big = write(dir, "big", password + "x", 0600);
  content = read_secret_file(big, error, small);
  CHECK_FALSE(content.has_value());
  CHECK(error == big + ": larger than " + std::to_string(password.size()) + " bytes");
  CHECK(error.find(password) == std::string::npos);

  // The default limit is 1 MiB: a file well past it is refused without reading it all.
  const std::string huge = write(dir, "huge", std::string((1 << 20) + 4096, 'k'), 0600);
  content = read_secret_file(huge, error);
  CHECK_FALSE(content.has_value());
  CHECK(error == huge + ": larger than 1048576 bytes");
}

TEST_CASE("secret file: a missing file or a directory is an error naming the path",
          "[runtime][secret]") {
  TempDir dir("secret-file");
  std::string error;
  const std::string missing = (dir / "nope").string();
  CHECK_FALSE(read_secret_file(missing, error).has_value());
  CHECK(error == missing + ": No such file or directory");

  error.clear();
  CHECK_FALSE(read_secret_file(dir.path().string(), error).has_value());
  CHECK(error == dir.path().string() + ": Is a directory");
}

TEST_CASE("secret file: world-readable files are warned about once per path, never quoting them",
          "[runtime][secret]") {
  CapturedLog log;
  TempDir dir("secret-file");
  const std::string open = write(dir, "open-token", std::string(kKnownToken) + "\n", 0644);
  const std::string other = write(dir, "other-token", std::string(kKnownToken) + "\n", 0604);
  const std::string group = write(dir, "group-token", std::string(kKnownToken) + "\n", 0640);
  CHECK(world_readable(open));
  CHECK(world_readable(other));
  CHECK_FALSE(world_readable(group));
  CHECK_FALSE(world_readable((dir / "missing").string()));

  SecretReadOptions options;
  options.what = "registry.consul.token_file";
  options.trim_trailing_newlines = true;
  std::string error;
  REQUIRE((read_secret_file(open, error, options) == std::optional<std::string>(kKnownToken)));
  const std::string first = log.text();
  CHECK(first == "warning: registry.consul.token_file " + open +
                     " is readable by every local user (mode 0644); it holds a secret: chmod o-r "
                     "it\n");

  // Read again (a reconnect, a rotated token): still used, not warned about again.
  REQUIRE(read_secret_file(open, error, options).has_value());
  CHECK(log.text() == first);
  CHECK_FALSE(warn_if_world_readable(open, options.what));

  // Another path is another warning; without `what` the line starts with the path.
  REQUIRE(read_secret_file(other, error).has_value());
  CHECK(log.text() == first + "warning: " + other +
                          " is readable by every local user (mode 0604); it holds a secret: chmod "
                          "o-r it\n");

  // Group-readable is not world-readable.
  const std::string before = log.text();
  REQUIRE(read_secret_file(group, error).has_value());
  CHECK_FALSE(warn_if_world_readable(group, "x"));
  CHECK(log.text() == before);

  CHECK(log.text().find(kKnownToken) == std::string::npos);
}

TEST_CASE("secret file: warn_if_world_readable on its own, as check uses it", "[runtime][secret]") {
  CapturedLog log;
  TempDir dir("secret-file");
  const std::string key = write(dir, "client.key", "-----BEGIN PRIVATE KEY-----\n", 0666);
  CHECK(warn_if_world_readable(key, "registry.etcd.tls.key_file"));
  CHECK_FALSE(warn_if_world_readable(key, "registry.etcd.tls.key_file"));
  CHECK_FALSE(warn_if_world_readable((dir / "missing").string(), "x"));
  CHECK(log.text() == "warning: registry.etcd.tls.key_file " + key +
                          " is readable by every local user (mode 0666); it holds a secret: chmod "
                          "o-r it\n");
  CHECK(log.text().find("BEGIN PRIVATE KEY") == std::string::npos);
}
