// The fuzz entry functions, shared by the libFuzzer executables (libfuzzer_main.cpp, one per
// target) and by the replay test of the normal build (replay_test.cpp), which runs every file of
// tests/fuzz/corpus/ and tests/fuzz/regressions/ through the same functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace registrar::fuzz {

// Each takes arbitrary bytes and returns 0. A broken invariant calls invariant_failed(); any
// exception other than the parser's documented error type escapes (a crash under libFuzzer, a
// failed test in the replay test).
int fuzz_manifest(const std::uint8_t* data, std::size_t size);
int fuzz_config_helpers(const std::uint8_t* data, std::size_t size);
int fuzz_consul_replies(const std::uint8_t* data, std::size_t size);
int fuzz_etcd_replies(const std::uint8_t* data, std::size_t size);
int fuzz_zookeeper_entries(const std::uint8_t* data, std::size_t size);
int fuzz_discovery_replies(const std::uint8_t* data, std::size_t size);

struct Target {
  const char* name;  // also the directory under corpus/ and regressions/
  int (*entry)(const std::uint8_t*, std::size_t);
};
inline constexpr Target kTargets[] = {
    {"manifest", fuzz_manifest},
    {"config_helpers", fuzz_config_helpers},
    {"consul_replies", fuzz_consul_replies},
    {"etcd_replies", fuzz_etcd_replies},
    {"zookeeper_entries", fuzz_zookeeper_entries},
    {"discovery_replies", fuzz_discovery_replies},
};

// Reports a broken invariant. Defined twice: libfuzzer_main.cpp prints and aborts (libFuzzer
// saves the input), replay_test.cpp throws (Catch2 reports the file).
[[noreturn]] void invariant_failed(const std::string& what);

inline void check(bool ok, std::string_view what) {
  if (!ok) invariant_failed(std::string(what));
}

// Known open bugs in code this directory does not own (tests/fuzz/README.md, "Known open
// bugs"). A target skips an input that only hits a known bug, so that a bounded run reports new
// ones, unless known bugs are reported: in the replay test for regressions/<target>/open-*
// (which must still break an invariant: once the bug is fixed, the file loses its prefix and its
// skip goes), and under libFuzzer with FUZZ_KNOWN_BUGS=1.
bool report_known_bugs();
inline bool known_bug(bool hit) {
  return hit && !report_known_bugs();
}

// Targets that handle several kinds of input read the kind from the first byte: '0' is the first
// kind, '1' the second, and so on (modulo the number of kinds), so that seeds stay readable.
inline unsigned selector(std::uint8_t first, unsigned kinds) {
  return static_cast<std::uint8_t>(first - '0') % kinds;
}

}  // namespace registrar::fuzz
