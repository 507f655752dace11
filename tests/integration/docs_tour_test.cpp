// Issue 19, "a tour that works as written": every example of README.md's tour and of
// docs/cli.md runs here, as written, in one bash session per file (so that `&` and `kill %1` mean
// what they mean at a prompt), against a real etcd, the example hello-service and the daemon.
//
// What an example is, in the Markdown: a ```console block; each `$ ` line is a command and the
// lines below it, up to the next `$ `, its output (stdout and stderr together). A ```yaml FILE
// block is written to FILE in the session's directory before the commands run. The output is
// compared line by line, allowing for what changes from run to run:
//   - ports: 2379 (etcd), 50051 (the example service) and 9901 (the status server) stand for
//     ports of this run, in the commands and in the output;
//   - times: a timestamp (2026-12-06T15:04:05.123Z) matches any, and so does "N ms";
//   - "..." matches any text (ids, paths, the rest of a long line).
// A command ending in `&` runs in the background; the lines under it must appear in its output, in
// that order, other lines between them allowed (a log). A foreground command whose output does
// not match yet is run again (bounded), as a reader waits a moment for the registry to follow:
// every example command is safe to repeat.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "ops_itest.hpp"
#include "support/ports.hpp"
#include "support/require.hpp"
#include "support/temp_dir.hpp"

#ifndef REGISTRAR_SOURCE_DIR
#error "REGISTRAR_SOURCE_DIR must be defined"
#endif

using namespace registrar::itest;
namespace fs = std::filesystem;

namespace {

struct Example {
  std::string where;  // file:line, for messages
  std::string command;
  std::vector<std::string> expected;
};

struct Doc {
  std::vector<std::pair<std::string, std::string>> files;  // name, content
  std::vector<Example> examples;
};

Doc parse_doc(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE(in);
  Doc doc;
  std::string line;
  int number = 0;
  enum { Prose, Console, File } state = Prose;
  std::size_t fence_indent = 0;  // a block inside a list item is indented as its fence is
  while (std::getline(in, line)) {
    ++number;
    const std::size_t indent = std::min(line.find_first_not_of(' '), line.size());
    const std::string trimmed = line.substr(indent);
    if (state == Prose) {
      if (trimmed == "```console") state = Console;
      if (trimmed.rfind("```yaml ", 0) == 0) {
        state = File;
        doc.files.emplace_back(trimmed.substr(8), "");
      }
      fence_indent = indent;
      continue;
    }
    if (trimmed == "```") {
      state = Prose;
      continue;
    }
    const std::string text = line.substr(std::min(indent, fence_indent));
    if (state == File) {
      doc.files.back().second += text + "\n";
    } else if (text.rfind("$ ", 0) == 0) {
      doc.examples.push_back(
          {path.filename().string() + ":" + std::to_string(number), text.substr(2), {}});
    } else if (!doc.examples.empty()) {
      doc.examples.back().expected.push_back(text);
    }
  }
  return doc;
}

// `text` with each whole number `from` (not part of a longer number) replaced by `to`.
std::string replace_number(std::string text, const std::string& from, const std::string& to) {
  std::size_t at = 0;
  while ((at = text.find(from, at)) != std::string::npos) {
    const bool digit_before = at > 0 && std::isdigit(static_cast<unsigned char>(text[at - 1]));
    const std::size_t end = at + from.size();
    const bool digit_after =
        end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]));
    if (digit_before || digit_after) {
      at = end;
      continue;
    }
    text.replace(at, from.size(), to);
    at += to.size();
  }
  return text;
}

// An expected line as a regex: times, durations in ms and "..." match any.
std::regex line_regex(std::string line) {
  static const std::regex timestamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  static const std::regex millis(R"(\b\d+ ms\b)");
  line = std::regex_replace(line, timestamp, "\x01");
  line = std::regex_replace(line, millis, "\x02");
  std::string out;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (line.compare(i, 3, "...") == 0) {
      out += ".*";
      i += 2;
    } else if (c == '\x01') {
      out += R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)";
    } else if (c == '\x02') {
      out += R"(\d+ ms)";
    } else if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) {
      out += std::string("\\") + c;
    } else {
      out += c;
    }
  }
  return std::regex("^" + out + "$");
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Which expected line does not match, or "" when all do. `log`: others may come between.
std::string mismatch(const std::vector<std::string>& expected, const std::string& output,
                     bool log) {
  const auto got = lines_of(output);
  std::size_t g = 0;
  for (const std::string& want : expected) {
    const std::regex re = line_regex(want);
    if (log) {
      while (g < got.size() && !std::regex_match(got[g], re)) ++g;
      if (g == got.size()) return "missing: " + want;
      ++g;
      continue;
    }
    if (g >= got.size()) return "missing: " + want;
    if (!std::regex_match(got[g], re)) return "expected: " + want + "\n     got: " + got[g];
    ++g;
  }
  if (!log && g < got.size()) return "unexpected: " + got[g];
  return "";
}

// One bash session, fed through a FIFO, in its own directory.
class Session {
 public:
  Session(const fs::path& dir, const registrar::test::EnvVars& env) : dir_(dir) {
    const fs::path fifo = dir / ".commands";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    shell_ = std::make_unique<registrar::test::Process>(
        "/bin/bash",
        std::vector<std::string>{
            "-c", "cd '" + dir.string() + "' && exec /bin/bash --noprofile --norc < .commands"},
        env, "docs-shell");
    for (int i = 0; i < 200 && fd_ < 0; ++i) {  // until bash opens its end (bounded: 10 s)
      fd_ = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd_ < 0) std::this_thread::sleep_for(50ms);
    }
    REQUIRE(fd_ >= 0);
    ::fcntl(fd_, F_SETFL, 0);
  }
  ~Session() {
    if (fd_ >= 0) {
      send("kill $(jobs -p) 2>/dev/null; wait; exit 0");
      ::close(fd_);
    }
    if (!shell_->wait_exit(15s)) shell_->kill9();
  }

  // Runs `command` in the foreground; its output (stdout and stderr).
  std::string run(const std::string& command) {
    const std::string n = std::to_string(++count_);
    send("{ " + command + "\n} > .out" + n + " 2>&1 < /dev/null; echo $? > .rc" + n +
         ".tmp; mv .rc" + n + ".tmp .rc" + n);
    for (int i = 0; i < 1200 && !fs::exists(dir_ / (".rc" + n)); ++i)  // bounded: 60 s
      std::this_thread::sleep_for(50ms);
    REQUIRE(fs::exists(dir_ / (".rc" + n)));
    return read_file(dir_ / (".out" + n));
  }

  // Starts `command` in the background; the file its output goes to.
  fs::path start(const std::string& command) {
    const std::string log = ".bg" + std::to_string(++count_);
    send(command + " > " + log + " 2>&1 < /dev/null &");
    return dir_ / log;
  }

 private:
  void send(const std::string& line) {
    const std::string text = line + "\n";
    REQUIRE(::write(fd_, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  }

  fs::path dir_;
  std::unique_ptr<registrar::test::Process> shell_;
  int fd_ = -1;
  int count_ = 0;
};

std::string dir_of(const std::string& program) {
  return fs::path(program).parent_path().string();
}

// Runs every example of `doc_path` in one session; one CHECK per example.
void run_examples(const fs::path& doc_path) {
  const Doc doc = parse_doc(doc_path);
  REQUIRE_FALSE(doc.examples.empty());
  EtcdServer etcd;
  const std::string etcd_port = etcd.endpoint().substr(etcd.endpoint().rfind(':') + 1);
  const std::vector<std::pair<std::string, std::string>> ports{
      {"2379", etcd_port},
      {"50051", std::to_string(free_port())},
      {"9901", std::to_string(free_port())}};
  auto ported = [&](std::string text) {
    for (const auto& [doc, real] : ports) text = replace_number(std::move(text), doc, real);
    return text;
  };
  registrar::test::TempDir work("registrar-docs");
  for (const auto& [name, content] : doc.files) {
    std::ofstream(work.path() / name) << ported(content);
  }
  const std::string path = dir_of(*registrar_bin()) + ":" + dir_of(*hello_service_bin()) +
                           ":/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  // The control socket of the tour's daemon in the session's directory, not in /run (where
  // another test's daemon may hold the default path), as systemd's RuntimeDirectory= would put it.
  Session shell(
      work.path(),
      {{"PATH", path}, {"GRPC_REGISTRAR_CONFIG", ""}, {"RUNTIME_DIRECTORY", work.path().string()}});
  for (const Example& e : doc.examples) {
    std::vector<std::string> expected;
    for (const auto& l : e.expected) expected.push_back(ported(l));
    const std::string command = ported(e.command);
    INFO(e.where << ": $ " << command);
    if (command.size() > 2 && command.ends_with(" &")) {
      const fs::path log = shell.start(command.substr(0, command.size() - 2));
      std::string why = "not started";
      for (int i = 0; i < 400 && !why.empty(); ++i) {  // bounded: 20 s
        why = mismatch(expected, read_file(log), /*log=*/true);
        if (!why.empty()) std::this_thread::sleep_for(50ms);
      }
      INFO(read_file(log));
      CHECK(why == "");
      continue;
    }
    std::string output, why;
    for (int i = 0; i < 20; ++i) {  // bounded: 20 runs, 10 s of waiting
      output = shell.run(command);
      why = mismatch(expected, output, /*log=*/false);
      if (why.empty()) break;
      std::this_thread::sleep_for(500ms);
    }
    INFO("output:\n" << output);
    CHECK(why == "");
  }
}

}  // namespace

TEST_CASE("docs: the README tour works as written", "[ops][cli][docs]") {
  if (!have_binaries()) return;
  // The tour reads etcd with etcdctl, as a reader would (scripts/bootstrap installs it with etcd).
  if (!registrar::test::need(fs::exists("/usr/bin/etcdctl"), "etcdctl not installed")) return;
  run_examples(fs::path(REGISTRAR_SOURCE_DIR) / "README.md");
}

TEST_CASE("docs: docs/cli.md's examples work as written", "[ops][cli][docs]") {
  if (!have_binaries()) return;
  run_examples(fs::path(REGISTRAR_SOURCE_DIR) / "docs" / "cli.md");
}

TEST_CASE("docs: operations.md numbers its fault sections without a gap", "[ops][docs]") {
  // Issue 19: they went 1, 2, 4, ...
  std::ifstream in(fs::path(REGISTRAR_SOURCE_DIR) / "docs" / "operations.md");
  REQUIRE(in);
  const std::regex numbered(R"(^## (\d+)\. )");
  int expected = 1;
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, numbered)) continue;
    INFO(line);
    CHECK(std::stoi(m[1]) == expected);
    ++expected;
  }
  CHECK(expected > 5);
}
