#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <vector>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/secret_flags.hpp"
#include "config/listen_address.hpp"

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

void add_status_listen_option(CLI::App& app, std::string& listen) {
  app.add_option("--status-listen", listen,
                 "Serve /healthz, /readyz, /v1/services, /metrics and POST /v1/drain on this "
                 "address (overrides status.listen; off by default)")
      ->type_name("HOST:PORT");
}

// Top-level options that take a value, to find the subcommand's name in argv before parsing.
bool takes_value(const std::string& a) {
  return a == "-c" || a == "--config" || a == "--log-level" || a == "--log-format" ||
         a == "--status-listen" || a == "--token" || a == "--consul-token" || a == "--password" ||
         a == "--etcd-password";
}

std::string subcommand_name(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i].starts_with("-")) {
      if (takes_value(args[i])) ++i;
      continue;
    }
    static const std::set<std::string> kNames{"run",   "check", "register", "deregister",
                                              "probe", "drain", "status"};
    return kNames.contains(args[i]) ? args[i] : "";
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const std::string sub = subcommand_name(args);
  // `probe` keeps grpc-health-probe's exit code for invalid arguments.
  const int usage_code = sub == "probe" ? kProbeInvalidArguments : kExitUsage;
  const std::string who = "grpc-registrar" + (sub.empty() ? "" : " " + sub);

  // --token and --password still work (as their environment variables), with a warning; their
  // values are overwritten in argv, so /proc/PID/cmdline stops showing them.
  const SecretArgs secrets = take_secret_args(args, sub);
  if (!secrets.error.empty()) {
    std::fprintf(stderr, "%s: %s\n", who.c_str(), secrets.error.c_str());
    return usage_code;
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
  std::vector<const char*> parse_argv{argv[0]};
  for (const std::string& a : secrets.args) parse_argv.push_back(a.c_str());

  if (const std::string flag = secret_flag(secrets.args); !flag.empty()) {
    std::fprintf(stderr, "%s: %s\n", who.c_str(), secret_flag_refusal(flag).c_str());
    return usage_code;
  }
  if (const std::string refusal = password_in_url(secrets.args); !refusal.empty()) {
    std::fprintf(stderr, "%s: %s\n", who.c_str(), refusal.c_str());
    return usage_code;
  }
  for (const std::string& w : secret_value_warnings(secrets.args))
    std::fprintf(stderr, "%s: warning: %s\n", who.c_str(), w.c_str());

  CLI::App app{"grpc-registrar: registers healthy local gRPC services in etcd or Consul",
               "grpc-registrar"};
  app.set_version_flag("--version", "grpc-registrar " REGISTRAR_VERSION);
  app.require_subcommand(0, 1);

  RunOptions run_options;
  run_options.config_path = kDefaultConfig;
  std::string log_format = "text";
  bool no_timestamps = false;
  // Without a subcommand, the top-level flags mean `run`. `-c` names the manifest for every
  // subcommand that reads one, before or after the subcommand's name.
  std::vector<CLI::Option*> config_options;
  config_options.push_back(add_config_option(app, run_options.config_path));
  add_log_options(app, run_options.log, log_format, no_timestamps);
  add_status_listen_option(app, run_options.status_listen);

  auto* run = app.add_subcommand("run", "Run the daemon (the default when no subcommand is given)");
  config_options.push_back(add_config_option(*run, run_options.config_path));
  add_log_options(*run, run_options.log, log_format, no_timestamps);
  add_status_listen_option(*run, run_options.status_listen);

  auto* check =
      app.add_subcommand("check", "Validate a manifest and print the effective configuration");
  config_options.push_back(add_config_option(*check, run_options.config_path));

  RegisterOptions register_options;
  auto* reg = app.add_subcommand(
      "register",
      "Register one service from flags alone (no manifest) and keep it true to its health until "
      "SIGTERM, as `run` does");
  add_register_options(*reg, register_options);
  add_log_options(*reg, run_options.log, log_format, no_timestamps);
  add_status_listen_option(*reg, run_options.status_listen);

  DeregisterOptions deregister_options;
  auto* dereg = app.add_subcommand(
      "deregister", "Remove one registration by name (clean-up after a daemon that is gone)");
  add_deregister_options(*dereg, deregister_options);

  ProbeOptions probe_options;
  auto* probe = app.add_subcommand(
      "probe",
      "Check a gRPC server once with grpc.health.v1 (exit 0 SERVING, 1 invalid arguments, "
      "2 connection failure, 3 RPC failure, 4 not SERVING)");
  add_probe_options(*probe, probe_options);

  ClientOptions drain_options;
  auto* drain = app.add_subcommand(
      "drain", "Tell a running daemon to deregister everything now and keep running until SIGTERM");
  config_options.push_back(add_config_option(*drain, run_options.config_path));
  add_drain_options(*drain, drain_options);

  ClientOptions status_options;
  auto* status = app.add_subcommand(
      "status", "Ask a running daemon how it is (exit 0 healthy or ready, 1 not; a HEALTHCHECK)");
  config_options.push_back(add_config_option(*status, run_options.config_path));
  add_status_options(*status, status_options);

  try {
    app.parse(static_cast<int>(parse_argv.size()), parse_argv.data());
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
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "%s: %s (see --help)\n", who.c_str(), e.what());
    return usage_code;
  }

  const bool config_given = std::any_of(config_options.begin(), config_options.end(),
                                        [](const CLI::Option* o) { return o->count() > 0; });
  if (const char* env = std::getenv(kConfigEnv); !config_given && env != nullptr && *env != '\0')
    run_options.config_path = env;

  if (*check) return check_manifest(run_options.config_path);
  if (*probe) return probe_once(probe_options);
  if (*dereg) return deregister(deregister_options);
  if (*drain) return drain_daemon(drain_options, run_options.config_path, config_given);
  if (*status) return daemon_status(status_options, run_options.config_path, config_given);

  if (!run_options.status_listen.empty()) {
    std::string why;
    const auto listen = config::parse_listen_address(run_options.status_listen, why);
    if (!listen) {
      std::fprintf(stderr, "%s: --status-listen: %s\n", who.c_str(), why.c_str());
      return kExitUsage;
    }
    run_options.status_listen = config::to_string(*listen);
  }
  if (*reg) {
    std::string error;
    run_options.manifest = manifest_from_flags(register_options, error);
    if (!run_options.manifest) {
      std::fprintf(stderr, "%s: %s\n", who.c_str(), error.c_str());
      return kExitUsage;
    }
  }

  run_options.log.format = log_format == "json" ? LogFormat::Json : LogFormat::Text;
  run_options.log.journald = std::getenv("JOURNAL_STREAM") != nullptr;
  if (no_timestamps || run_options.log.journald) run_options.log.timestamps = false;
  if (!setup_logging(run_options.log)) {
    std::fprintf(stderr, "grpc-registrar: --log-level: unknown level '%s'\n",
                 run_options.log.level.c_str());
    return kExitUsage;
  }
  return run_daemon(run_options);
}

}  // namespace registrar::cli
