// Ends the process once its work is done, flushing the logs and output but running no
// destructors: the daemon after its shutdown, and the commands that talked to a registry, whose
// gRPC calls and streams may still complete on gRPC's threads into an io_context that must then
// still exist. Tearing them down could only add risk to an exit that must be clean.
#pragma once

namespace registrar::cli {

[[noreturn]] void leave(int code);

}  // namespace registrar::cli
