// The command line, declared once: every subcommand (command_table.cpp's table) and, through it,
// every flag (the add_* functions next to each subcommand, commands.hpp). Three readers use this
// one declaration, so that a subcommand or flag added here is known to all of them:
//   - build_parser: CLI11's parser and --help;
//   - subcommand_name: finds the subcommand in argv before parsing, skipping the value of every
//     top-level flag the parser declares as taking one;
//   - take_secret_args (secret_flags.hpp): whether the subcommand takes --token/--password.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.hpp"

namespace registrar::cli {

// What the flags are parsed into: one options struct per subcommand (commands.hpp).
struct Invocation {
  // `run` and `register`; config_path also for every subcommand that reads a manifest.
  RunOptions run;
  std::string log_format = "text";  // --log-format
  bool no_timestamps = false;       // --no-log-timestamps
  RegisterOptions register_options;
  DeregisterOptions deregister_options;
  ProbeOptions probe;
  ReadOptions resolve;
  ReadOptions watch;
  ClientOptions drain;
  ClientOptions status;
  // Every copy of -c (top level and subcommands), to tell whether one was given.
  std::vector<CLI::Option*> config_options;
  // -c was given (set after parsing; otherwise $GRPC_REGISTRAR_CONFIG or the default applies).
  bool config_given = false;
};

// One subcommand.
struct Subcommand {
  std::string_view name;
  std::string_view description;  // for --help
  // Takes -c FILE (before or after its name): it reads a manifest.
  bool reads_manifest;
  // Takes `run`'s logging flags and --status-listen: it runs the daemon.
  bool runs_daemon;
  // Takes --token/--password as their environment variables (secret_flags.hpp): it talks to a
  // registry. The others refuse them as any secret-looking flag.
  bool takes_registry_secrets;
  // The exit code of a usage error (`probe` keeps grpc-health-probe's).
  int usage_exit;
  // Declares its own flags (besides the shared ones above); nullptr: none.
  void (*add_flags)(CLI::App& cmd, Invocation& into);
  // Runs it, once parsed; `who` prefixes its messages ("grpc-registrar register").
  int (*execute)(Invocation& parsed, const std::string& who);
};

// Every subcommand, in --help's order.
std::span<const Subcommand> subcommands();

// The subcommand named `name`, or nullptr when there is none.
const Subcommand* find_subcommand(std::string_view name);

// The subcommand named `name`; `run` for "" (no subcommand, or an unknown one: the top level
// means `run`).
const Subcommand& command_for(std::string_view name);

// CLI11's parser for the whole command line, bound to `into`: the top level (`run`'s flags,
// --version) and one CLI11 subcommand per entry of subcommands().
std::unique_ptr<CLI::App> build_parser(Invocation& into);

// After parsing: whether -c was given, and if not, $GRPC_REGISTRAR_CONFIG (when set) instead of
// the default path.
void apply_config_default(Invocation& parsed);

// Whether `arg`, given before the subcommand's name, is a flag whose value is the next argument:
// a top-level option of `parser` that takes a value, or --token/--password (taken out of argv
// before parsing). "--flag=value" carries its own value.
bool takes_value(const CLI::App& parser, const std::string& arg);

// The subcommand named in `args` (argv without argv[0]), found before parsing: the first
// argument that is neither a flag nor a flag's value, if it names a subcommand; else "".
std::string subcommand_name(const CLI::App& parser, const std::vector<std::string>& args);

}  // namespace registrar::cli
