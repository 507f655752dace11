// `grpc-registrar`'s entry point: finds the subcommand, takes the secret flags out of argv,
// parses with the parser the command table declares (command_table.hpp) and runs the
// subcommand.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/command_table.hpp"
#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/json_stderr.hpp"
#include "cli/secret_flags.hpp"

namespace registrar::cli {

namespace {

// --token and --password still work (as their environment variables), with a warning; their
// values are overwritten in argv, so /proc/PID/cmdline stops showing them. Every other
// secret-looking flag, and a URL with a password, is refused. Returns the arguments left for
// the parser, or nullopt after a refusal (printed).
std::optional<std::vector<std::string>> take_secrets(const std::vector<std::string>& args,
                                                     const std::string& sub, const std::string& who,
                                                     char** argv) {
  const SecretArgs secrets = take_secret_args(args, sub);
  if (!secrets.error.empty()) {
    std::fprintf(stderr, "%s: %s\n", who.c_str(), secrets.error.c_str());
    return std::nullopt;
  }
  for (const std::string& w : secrets.warnings)
    std::fprintf(stderr, "%s: warning: %s\n", who.c_str(), w.c_str());
  for (const auto& [name, value] : secrets.env) {
    if (value.empty())
      ::unsetenv(name.c_str());
    else
      ::setenv(name.c_str(), value.c_str(), 1);
  }
  for (const auto& [index, offset] : secrets.value_at) {
    char* arg = argv[index + 1];
    for (char* c = arg + offset; *c != '\0'; ++c) *c = 'x';
  }
  if (const std::string flag = secret_flag(secrets.args); !flag.empty()) {
    std::fprintf(stderr, "%s: %s\n", who.c_str(), secret_flag_refusal(flag).c_str());
    return std::nullopt;
  }
  if (const std::string refusal = password_in_url(secrets.args); !refusal.empty()) {
    std::fprintf(stderr, "%s: %s\n", who.c_str(), refusal.c_str());
    return std::nullopt;
  }
  for (const std::string& w : secret_value_warnings(secrets.args))
    std::fprintf(stderr, "%s: warning: %s\n", who.c_str(), w.c_str());
  return secrets.args;
}

// Parses `args` (argv without argv[0]). Returns the exit code when parsing ends the process
// (--help, --version, a usage error), else nullopt.
std::optional<int> parse(CLI::App& parser, const char* argv0, const std::vector<std::string>& args,
                         const std::string& who, int usage_exit) {
  std::vector<const char*> parse_argv{argv0};
  for (const std::string& a : args) parse_argv.push_back(a.c_str());
  try {
    parser.parse(static_cast<int>(parse_argv.size()), parse_argv.data());
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", parser.help().c_str());
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    std::printf("%s", parser.help("", CLI::AppFormatMode::All).c_str());
    return kExitOk;
  } catch (const CLI::CallForVersion& e) {
    std::printf("%s\n", e.what());
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return parser.exit(e);
    std::fprintf(stderr, "%s: %s (see --help)\n", who.c_str(), e.what());
    return usage_exit;
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  Invocation invocation;
  const std::unique_ptr<CLI::App> parser = build_parser(invocation);
  const std::vector<std::string> args(argv + 1, argv + argc);
  const std::string sub = subcommand_name(*parser, args);
  const int usage_exit = command_for(sub).usage_exit;
  const std::string who = "grpc-registrar" + (sub.empty() ? "" : " " + sub);

  const auto rest = take_secrets(args, sub, who, argv);
  if (!rest) return usage_exit;
  if (const auto code = parse(*parser, argv[0], *rest, who, usage_exit)) return *code;
  apply_config_default(invocation);

  const auto parsed = parser->get_subcommands();
  const Subcommand& command = command_for(parsed.empty() ? "" : parsed.front()->get_name());
  // The daemon logs JSON through its logger; a one-off command's messages become JSON here.
  std::optional<JsonStderr> json;
  if (invocation.log_format == "json" && !command.runs_daemon)
    json.emplace(!invocation.no_timestamps && std::getenv("JOURNAL_STREAM") == nullptr);
  return command.execute(invocation, who);
}

}  // namespace registrar::cli
