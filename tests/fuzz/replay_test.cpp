// Runs every seed (tests/fuzz/corpus/<target>/) and every saved crash
// (tests/fuzz/regressions/<target>/) through the fuzz entry functions, in the normal build:
// what once crashed a target stays fixed, without libFuzzer or clang.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzz_support.hpp"

namespace registrar::fuzz {

namespace {
struct InvariantBroken : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace

namespace {
bool g_report_known_bugs = false;
}  // namespace

bool report_known_bugs() {
  return g_report_known_bugs;
}

void invariant_failed(const std::string& what) {
  throw InvariantBroken(what);
}

}  // namespace registrar::fuzz

namespace {

namespace fs = std::filesystem;
using registrar::fuzz::InvariantBroken;
using registrar::fuzz::Target;

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string().front() != '.') out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int run(const Target& t, const std::string& bytes) {
  return t.entry(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

bool starts_with(const fs::path& p, const char* prefix) {
  return p.filename().string().rfind(prefix, 0) == 0;
}

struct Counts {
  std::size_t files = 0;
  std::size_t open = 0;   // known open bugs (open-*), still broken
  std::size_t hangs = 0;  // known open bugs that hang (open-hang-*), not run
};

// Runs each file of `dir` through `t`: none may break an invariant, except open-* files (known
// open bugs, tests/fuzz/README.md), which must still break one when known bugs are reported.
Counts replay(const Target& t, const fs::path& dir) {
  Counts n;
  for (const auto& f : files_in(dir)) {
    ++n.files;
    if (starts_with(f, "open-hang-")) {  // would hang or exhaust memory: listed, not run
      ++n.hangs;
      WARN("known open bug, not run (it hangs): " << f.string());
      continue;
    }
    const std::string bytes = read(f);
    INFO("input: " << f.string() << " (" << bytes.size() << " bytes)");
    if (starts_with(f, "open-")) {
      ++n.open;
      registrar::fuzz::g_report_known_bugs = true;
      // Fixed? Then rename it without "open-" and drop its known_bug() skip in the target.
      CHECK_THROWS_AS(run(t, bytes), InvariantBroken);
      registrar::fuzz::g_report_known_bugs = false;
      continue;
    }
    CHECK_NOTHROW(run(t, bytes));
  }
  return n;
}

const Target& target(const std::string& name) {
  for (const Target& t : registrar::fuzz::kTargets)
    if (name == t.name) return t;
  throw std::logic_error("no fuzz target " + name);
}

void replay_target(const std::string& name) {
  const fs::path root = REGISTRAR_FUZZ_DIR;
  const Target& t = target(name);
  const Counts seeds = replay(t, root / "corpus" / name);
  const Counts crashes = replay(t, root / "regressions" / name);
  // Every target keeps a seed corpus; an empty one means the path is wrong. Seeds are never
  // known bugs.
  CHECK(seeds.files > 0);
  CHECK(seeds.open + seeds.hangs == 0);
  WARN(name << ": replayed " << seeds.files << " seeds and " << crashes.files
            << " regressions, of which " << crashes.open + crashes.hangs << " known open bugs");
}

}  // namespace

TEST_CASE("fuzz replay: manifest corpus and regressions") {
  replay_target("manifest");
}

TEST_CASE("fuzz replay: config_helpers corpus and regressions") {
  replay_target("config_helpers");
}

TEST_CASE("fuzz replay: consul_replies corpus and regressions") {
  replay_target("consul_replies");
}

TEST_CASE("fuzz replay: etcd_replies corpus and regressions") {
  replay_target("etcd_replies");
}

TEST_CASE("fuzz replay: zookeeper_entries corpus and regressions") {
  replay_target("zookeeper_entries");
}

TEST_CASE("fuzz replay: discovery_replies corpus and regressions") {
  replay_target("discovery_replies");
}

TEST_CASE("fuzz replay: every target has a test case and a corpus directory") {
  for (const Target& t : registrar::fuzz::kTargets) {
    INFO(t.name);
    CHECK(fs::is_directory(fs::path(REGISTRAR_FUZZ_DIR) / "corpus" / t.name));
  }
  CHECK(std::size(registrar::fuzz::kTargets) == 6);
}
