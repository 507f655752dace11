// The libFuzzer side of one target: compiled once per fuzz executable with
// -DREGISTRAR_FUZZ_ENTRY=<entry function> (tests/fuzz/CMakeLists.txt).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_support.hpp"

namespace registrar::fuzz {

bool report_known_bugs() {
  static const bool report = [] {
    const char* v = std::getenv("FUZZ_KNOWN_BUGS");
    return v != nullptr && std::string(v) == "1";
  }();
  return report;
}

void invariant_failed(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what.c_str());
  std::abort();
}

}  // namespace registrar::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return registrar::fuzz::REGISTRAR_FUZZ_ENTRY(data, size);
}
