// No silent passes: what a test needs from the build or the machine (a binary, a registry
// server). A test that lacks one must not pass quietly in CI: under CI=true it FAILs with the
// reason; elsewhere it WARNs "<reason>: test not run" and the caller returns. Use as
//     if (!need(registrar_bin().has_value(), "grpc-registrar binary not built")) return;
// (FAIL throws, so under CI the return is never reached.) Header-only: it needs Catch2, which
// registrar_test_support does not link.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "support/paths.hpp"

namespace registrar::test {

// `present`, or: FAIL(reason) under CI, WARN(reason + ": test not run") and false elsewhere.
inline bool need(bool present, const std::string& reason) {
  if (present) return true;
  if (running_in_ci())
    FAIL(reason + " (CI=true: a test that cannot run fails instead of passing unrun)");
  WARN(reason + ": test not run");
  return false;
}

}  // namespace registrar::test
