#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"

#ifndef REGISTRAR_VERSION
#define REGISTRAR_VERSION "unknown"
#endif

namespace registrar::cli {

namespace {

constexpr const char* kDefaultConfig = "/etc/grpc-registrar/services.yaml";

constexpr const char* kConfigEnv = "GRPC_REGISTRAR_CONFIG";

// `-c` is accepted before or after the subcommand's name. The environment variable is applied
// by hand after parsing: CLI11 would fill it into every subcommand's copy of the option, and
// an unused copy would then overwrite the path given on the command line.
CLI::Option* add_config_option(CLI::App& app, std::string& path) {
  return app
      .add_option(
          "-c,--config", path,
          std::string("Manifest file (YAML); default $") + kConfigEnv + ", then " + kDefaultConfig)
      ->type_name("FILE");
}

void add_log_options(CLI::App& app, LogOptions& log, std::string& format, bool& no_timestamps) {
  app.add_option("--log-level", log.level, "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  app.add_option("--log-format", format, "text, or json (one object per line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_flag("--no-log-timestamps", no_timestamps,
               "Omit timestamps (automatic when JOURNAL_STREAM is set, i.e. under systemd)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"grpc-registrar: registers healthy local gRPC services in etcd", "grpc-registrar"};
  app.set_version_flag("--version", "grpc-registrar " REGISTRAR_VERSION);
  app.require_subcommand(0, 1);

  RunOptions run_options;
  run_options.config_path = kDefaultConfig;
  std::string log_format = "text";
  bool no_timestamps = false;
  // Without a subcommand, the top-level flags mean `run`. `-c` names the manifest for every
  // subcommand, before or after the subcommand's name.
  std::vector<CLI::Option*> config_options;
  config_options.push_back(add_config_option(app, run_options.config_path));
  add_log_options(app, run_options.log, log_format, no_timestamps);

  auto* run = app.add_subcommand("run", "Run the daemon (the default when no subcommand is given)");
  config_options.push_back(add_config_option(*run, run_options.config_path));
  add_log_options(*run, run_options.log, log_format, no_timestamps);

  auto* check =
      app.add_subcommand("check", "Validate a manifest and print the effective configuration");
  config_options.push_back(add_config_option(*check, run_options.config_path));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", app.help().c_str());
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    std::printf("%s", app.help("", CLI::AppFormatMode::All).c_str());
    return kExitOk;
  } catch (const CLI::CallForVersion& e) {
    std::printf("%s\n", e.what());
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    // Subcommand help arrives as CallForHelp thrown from the subcommand.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "grpc-registrar: %s (see --help)\n", e.what());
    return kExitUsage;
  }

  const bool config_given = std::any_of(config_options.begin(), config_options.end(),
                                        [](const CLI::Option* o) { return o->count() > 0; });
  if (const char* env = std::getenv(kConfigEnv); !config_given && env != nullptr && *env != '\0')
    run_options.config_path = env;

  if (*check) return check_manifest(run_options.config_path);

  run_options.log.format = log_format == "json" ? LogFormat::Json : LogFormat::Text;

  if (no_timestamps || std::getenv("JOURNAL_STREAM") != nullptr) run_options.log.timestamps = false;
  if (!setup_logging(run_options.log)) {
    std::fprintf(stderr, "grpc-registrar: --log-level: unknown level '%s'\n",
                 run_options.log.level.c_str());
    return kExitUsage;
  }
  return run_daemon(run_options);
}

}  // namespace registrar::cli
