// grpc-registrar: subcommand dispatch only; see cli/.
#include <absl/synchronization/mutex.h>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  // Debian builds Abseil without NDEBUG, so every absl::Mutex that gRPC locks (many per call)
  // also walks Abseil's lock-order graph looking for deadlock cycles: 12 % of the daemon's CPU
  // with 1000 probed servers (docs/benchmarks.md, figure 6). A debugging aid for Abseil's own
  // users, not a behaviour of ours: off, as a release build of Abseil has it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return registrar::cli::main(argc, argv);
}
