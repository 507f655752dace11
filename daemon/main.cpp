// grpc-registrar: subcommand dispatch only; see cli/.
#include "cli/commands.hpp"

int main(int argc, char** argv) {
  return registrar::cli::main(argc, argv);
}
