#include "support/hello_service.hpp"

#include <signal.h>

#include <stdexcept>

#include "support/paths.hpp"

namespace registrar::test {

HelloService::HelloService(HelloServiceOptions options, Millis timeout) {
  const auto bin = hello_service_bin();
  if (!bin) throw std::runtime_error("hello-service binary is not available (HELLO_SERVICE_BIN)");
  bin_ = *bin;
  std::vector<std::string> args{"--listen", "127.0.0.1:0"};
  for (const auto& name : options.services) args.insert(args.end(), {"--service", name});
  if (options.not_serving) args.push_back("--not-serving");
  if (options.no_watch) args.push_back("--no-watch");
  if (!options.tls_cert.empty()) {
    args.insert(args.end(), {"--tls-cert", options.tls_cert, "--tls-key", options.tls_key});
  }
  if (!options.tls_client_ca.empty())
    args.insert(args.end(), {"--tls-client-ca", options.tls_client_ca});
  options_ = options;
  process_ = std::make_unique<Process>(bin_, args, EnvVars{}, "hello-service");
  static const std::regex listening(R"(^listening on 127\.0\.0\.1:([0-9]+)$)");
  const auto line = process_->wait_for_line(Stream::Stdout, listening, timeout);
  if (!line) {
    const std::string state =
        process_->running() ? "still running" : process_->exit_status()->describe();
    throw std::runtime_error("hello-service did not print 'listening on 127.0.0.1:PORT' (" + state +
                             "); stdout: " + process_->stdout_text() +
                             "; stderr: " + process_->stderr_text());
  }
  port_ = static_cast<std::uint16_t>(std::stoul(line->groups.at(1)));
}

void HelloService::set_serving(bool serving) {
  process_->signal(serving ? SIGUSR2 : SIGUSR1);
}

void HelloService::client(const std::vector<std::string>& command) {
  std::vector<std::string> args = command;
  if (!options_.control_ca.empty()) args.insert(args.end(), {"--tls-ca", options_.control_ca});
  if (!options_.control_cert.empty()) {
    args.insert(args.end(),
                {"--tls-cert", options_.control_cert, "--tls-key", options_.control_key});
  }
  const CommandResult r = run_command(bin_, args, 10s);
  if (!r.status.exited_with(0)) {
    std::string cmd = "hello-service";
    for (const auto& a : args) cmd += " " + a;
    throw std::runtime_error(cmd + ": " + r.status.describe() + ": " + r.err);
  }
}

void HelloService::set_status(const std::string& service, bool serving) {
  client({"set-status", "--target", target(), "--service", service,
          serving ? "--serving" : "--not-serving"});
}

void HelloService::set_hang(bool on) {
  client({"set-hang", "--target", target(), on ? "--on" : "--off"});
}

ExitStatus HelloService::terminate(Millis timeout) {
  process_->signal(SIGTERM);
  if (auto st = process_->wait_exit(timeout)) return *st;
  return process_->kill9();
}

}  // namespace registrar::test
