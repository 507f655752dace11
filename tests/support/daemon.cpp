#include "support/daemon.hpp"

#include <signal.h>

#include <stdexcept>

#include "support/paths.hpp"

namespace registrar::test {

namespace {

std::string require_registrar_bin() {
  const auto bin = registrar_bin();
  if (!bin) throw std::runtime_error("grpc-registrar binary is not available (REGISTRAR_BIN)");
  return *bin;
}

}  // namespace

Daemon::Daemon(const std::string& manifest_yaml, DaemonOptions options) : manifest_(manifest_yaml) {
  std::vector<std::string> args;
  if (options.explicit_run) args.push_back("run");
  args.insert(args.end(), {"-c", manifest_.path().string()});
  if (!options.log_level.empty()) args.insert(args.end(), {"--log-level", options.log_level});
  if (!options.log_format.empty()) args.insert(args.end(), {"--log-format", options.log_format});
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  // The default control socket is $RUNTIME_DIRECTORY/control.sock: each daemon gets its own, in
  // its manifest's directory, as systemd's RuntimeDirectory= gives each service its own.
  process_ = std::make_unique<Process>(
      require_registrar_bin(), args,
      EnvVars{{"RUNTIME_DIRECTORY", manifest_.path().parent_path().string()}}, "grpc-registrar");
}

std::string Daemon::control_socket() const {
  return (manifest_.path().parent_path() / "control.sock").string();
}

ExitStatus Daemon::terminate(Millis timeout) {
  process_->signal(SIGTERM);
  if (auto st = process_->wait_exit(timeout)) return *st;
  return process_->kill9();
}

CommandResult run_registrar(const std::vector<std::string>& args, const EnvVars& extra_env,
                            Millis timeout) {
  return run_command(require_registrar_bin(), args, timeout, extra_env);
}

}  // namespace registrar::test
