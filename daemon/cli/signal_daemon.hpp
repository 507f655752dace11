// Signals a running daemon by pid (`drain --pid`), only once the process is known to be a
// grpc-registrar: a mistyped pid must not signal, and so kill, an unrelated process.
#pragma once

#include <string>

namespace registrar::cli {

// Sends `signal` to `pid` if its executable is a grpc-registrar (the file name of
// /proc/PID/exe, or /proc/PID/comm when that link may not be read, is "grpc-registrar" or this
// program's own name). The process is held by a pidfd from the check to the signal, so a pid
// reused in between is never signalled. Returns "" when sent, else one sentence: "no process
// 1234", "process 1234 is /usr/bin/sleep, not grpc-registrar; nothing sent", or why the signal
// failed.
std::string signal_daemon(int pid, int signal);

}  // namespace registrar::cli
