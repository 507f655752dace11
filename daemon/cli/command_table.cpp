#include "cli/command_table.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "cli/exit_codes.hpp"
#include "cli/secret_flags.hpp"
#include "config/listen_address.hpp"
#include "config/status_policy.hpp"

#ifndef REGISTRAR_VERSION
#define REGISTRAR_VERSION "unknown"
#endif

namespace registrar::cli {

namespace {

constexpr const char* kDefaultConfig = "/etc/grpc-registrar/services.yaml";

constexpr const char* kConfigEnv = "GRPC_REGISTRAR_CONFIG";

constexpr const char* kSecretFlagsHelp =
    "Secrets on the command line (discouraged: every local user can read them in ps):\n"
    "  --token T, --consul-token T     used as $CONSUL_HTTP_TOKEN, with a warning; prefer\n"
    "                                  --token-file FILE or $CONSUL_HTTP_TOKEN_FILE\n"
    "  --password P, --etcd-password P used as $ETCDCTL_PASSWORD, with a warning; prefer\n"
    "                                  --etcd-password-file FILE or $ETCDCTL_PASSWORD";

// `-c` is accepted before or after the subcommand's name. The environment variable is applied
// by hand after parsing (app.cpp): CLI11 would fill it into every subcommand's copy of the
// option, and an unused copy would then overwrite the path given on the command line.
void add_config_option(CLI::App& app, Invocation& into) {
  into.config_options.push_back(app.add_option("-c,--config", into.run.config_path,
                                               std::string("Manifest file (YAML); default $") +
                                                   kConfigEnv + ", then " + kDefaultConfig)
                                    ->type_name("FILE"));
}

void add_log_options(CLI::App& app, Invocation& into) {
  app.add_option("--log-level", into.run.log.level,
                 "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  app.add_option("--log-format", into.log_format,
                 "text, or json (one object per line; the one-off commands' errors too)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_flag("--no-log-timestamps", into.no_timestamps,
               "Omit timestamps (automatic when JOURNAL_STREAM is set, i.e. under systemd)");
}

void add_status_listen_option(CLI::App& app, Invocation& into) {
  app.add_option("--status-listen", into.run.status_listen,
                 "Serve /healthz, /readyz, /v1/services and /metrics on this address (overrides "
                 "status.listen; off by default; loopback unless --status-allow-remote)")
      ->type_name("HOST:PORT");
  app.add_flag("--status-allow-remote", into.run.status_allow_remote,
               "Allow a --status-listen address that is not loopback (open to the network)");
  app.add_option("--control-socket", into.run.control_socket,
                 "The control socket for `drain` and `status` (overrides "
                 "status.control_socket; \"off\" for none)")
      ->type_name("PATH");
}

// Every flag of `command`, in --help's order: -c, its own, the log flags (every subcommand takes
// them, before or after its name: one grammar), then the daemon's.
void add_flags(CLI::App& app, const Subcommand& command, Invocation& into) {
  if (command.reads_manifest) add_config_option(app, into);
  if (command.add_flags != nullptr) command.add_flags(app, into);
  add_log_options(app, into);
  if (command.runs_daemon) add_status_listen_option(app, into);
}

// `run` and `register`: the flags shared with `run` checked, logging set up, then the daemon.
int start_daemon(Invocation& parsed, const std::string& who, bool from_flags) {
  RunOptions& run = parsed.run;
  if (!run.status_listen.empty()) {
    std::string why;
    const auto listen = config::parse_listen_address(run.status_listen, why);
    if (!listen) {
      std::fprintf(stderr, "%s: --status-listen: %s\n", who.c_str(), why.c_str());
      return kExitUsage;
    }
    if (!run.status_allow_remote && !config::is_loopback(*listen)) {
      std::fprintf(stderr, "%s: --status-listen: %s\n", who.c_str(),
                   config::remote_refusal(*listen).c_str());
      return kExitUsage;
    }
    run.status_listen = config::to_string(*listen);
  }
  if (std::string why;
      !run.control_socket.empty() && !config::valid_control_socket(run.control_socket, why)) {
    std::fprintf(stderr, "%s: --control-socket: %s\n", who.c_str(), why.c_str());
    return kExitUsage;
  }
  if (from_flags) {
    std::string error;
    run.manifest = manifest_from_flags(parsed.register_options, error);
    if (!run.manifest) {
      std::fprintf(stderr, "%s: %s\n", who.c_str(), error.c_str());
      return kExitUsage;
    }
  }
  run.log.format = parsed.log_format == "json" ? LogFormat::Json : LogFormat::Text;
  run.log.journald = std::getenv("JOURNAL_STREAM") != nullptr;
  if (parsed.no_timestamps || run.log.journald) run.log.timestamps = false;
  if (!setup_logging(run.log)) {
    std::fprintf(stderr, "grpc-registrar: --log-level: unknown level '%s'\n",
                 run.log.level.c_str());
    return kExitUsage;
  }
  return run_daemon(run);
}

// The declaration (a data table). Fields: name, description, reads_manifest, runs_daemon,
// takes_registry_secrets, usage_exit, add_flags, execute.
constexpr Subcommand kSubcommands[] = {
    {"run", "Run the daemon (the default when no subcommand is given)", true, true, true,
     kExitUsage, nullptr,
     [](Invocation& p, const std::string& who) { return start_daemon(p, who, false); }},
    {"check", "Validate a manifest and print the effective configuration", true, false, true,
     kExitUsage, nullptr,
     [](Invocation& p, const std::string&) { return check_manifest(p.run.config_path); }},
    {"register",
     "Register one service from flags alone (no manifest) and keep it true to its health until "
     "SIGTERM, as `run` does",
     false, true, true, kExitUsage,
     [](CLI::App& cmd, Invocation& into) { add_register_options(cmd, into.register_options); },
     [](Invocation& p, const std::string& who) { return start_daemon(p, who, true); }},
    {"deregister", "Remove one registration by name (clean-up after a daemon that is gone)", false,
     false, true, kExitUsage,
     [](CLI::App& cmd, Invocation& into) { add_deregister_options(cmd, into.deregister_options); },
     [](Invocation& p, const std::string&) { return deregister(p.deregister_options); }},
    {"probe",
     "Check a gRPC server once with grpc.health.v1 (exit 0 SERVING, 1 invalid arguments, "
     "2 connection failure, 3 RPC failure, 4 not SERVING)",
     false, false, false, kProbeInvalidArguments,
     [](CLI::App& cmd, Invocation& into) { add_probe_options(cmd, into.probe); },
     [](Invocation& p, const std::string&) { return probe_once(p.probe); }},
    {"resolve",
     "List the instances of a service as the registry's clients see them (exit 0 some, 1 none, "
     "69 registry unreachable)",
     true, false, true, kExitUsage,
     [](CLI::App& cmd, Invocation& into) { add_resolve_options(cmd, into.resolve); },
     [](Invocation& p, const std::string&) {
       return resolve(p.resolve, p.run.config_path, p.config_given);
     }},
    {"watch",
     "Print the instances of a service at start and again whenever they change (--exec: run a "
     "command with them on stdin)",
     true, false, true, kExitUsage,
     [](CLI::App& cmd, Invocation& into) { add_watch_options(cmd, into.watch); },
     [](Invocation& p, const std::string&) {
       return watch(p.watch, p.run.config_path, p.config_given);
     }},
    {"drain", "Tell a running daemon to deregister everything now and keep running until SIGTERM",
     true, false, false, kExitUsage,
     [](CLI::App& cmd, Invocation& into) { add_drain_options(cmd, into.drain); },
     [](Invocation& p, const std::string&) {
       return drain_daemon(p.drain, p.run.config_path, p.config_given);
     }},
    {"status", "Ask a running daemon how it is (exit 0 healthy or ready, 1 not; a HEALTHCHECK)",
     true, false, false, kExitUsage,
     [](CLI::App& cmd, Invocation& into) { add_status_options(cmd, into.status); },
     [](Invocation& p, const std::string&) {
       return daemon_status(p.status, p.run.config_path, p.config_given);
     }},
};

}  // namespace

std::span<const Subcommand> subcommands() {
  return kSubcommands;
}

const Subcommand* find_subcommand(std::string_view name) {
  for (const Subcommand& c : kSubcommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const Subcommand& command_for(std::string_view name) {
  const Subcommand* command = find_subcommand(name);
  return command != nullptr ? *command : kSubcommands[0];  // `run`
}

std::unique_ptr<CLI::App> build_parser(Invocation& into) {
  auto app = std::make_unique<CLI::App>(
      "grpc-registrar: registers healthy local gRPC services in etcd or Consul", "grpc-registrar");
  app->set_version_flag("--version", "grpc-registrar " REGISTRAR_VERSION);
  app->require_subcommand(0, 1);
  into.run.config_path = kDefaultConfig;
  // Without a subcommand, the top-level flags mean `run`.
  add_flags(*app, command_for("run"), into);
  for (const Subcommand& command : kSubcommands) {
    CLI::App* sub =
        app->add_subcommand(std::string(command.name), std::string(command.description));
    add_flags(*sub, command, into);
    // Taken out of argv before parsing (secret_flags.hpp), so CLI11 does not list them.
    if (command.takes_registry_secrets) sub->footer(kSecretFlagsHelp);
  }
  return app;
}

void apply_config_default(Invocation& parsed) {
  parsed.config_given = std::any_of(parsed.config_options.begin(), parsed.config_options.end(),
                                    [](const CLI::Option* o) { return o->count() > 0; });
  if (const char* env = std::getenv(kConfigEnv);
      !parsed.config_given && env != nullptr && *env != '\0')
    parsed.run.config_path = env;
}

bool takes_value(const CLI::App& parser, const std::string& arg) {
  if (!arg.starts_with("-") || arg.find('=') != std::string::npos) return false;
  if (is_registry_secret_flag(arg)) return true;
  const auto options = parser.get_options([&](const CLI::Option* o) { return o->check_name(arg); });
  return std::any_of(options.begin(), options.end(),
                     [](const CLI::Option* o) { return o->get_items_expected_min() > 0; });
}

std::string subcommand_name(const CLI::App& parser, const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i].starts_with("-")) {
      if (takes_value(parser, args[i])) ++i;
      continue;
    }
    return find_subcommand(args[i]) != nullptr ? args[i] : "";
  }
  return "";
}

}  // namespace registrar::cli
