#include <signal.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <cstdlib>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "config/error.hpp"
#include "config/manifest_parser.hpp"
#include "probe/grpc_health_prober.hpp"
#include "registry/factory.hpp"
#include "supervisor/supervisor.hpp"

namespace registrar::cli {

namespace {

const char* signal_name(int signo) {
  switch (signo) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "signal";
  }
}

// Leaves without running destructors: once deregistration is confirmed, tearing down gRPC
// channels under callbacks still in flight can only add risk to an exit that must be clean.
[[noreturn]] void leave(int code) {
  spdlog::shutdown();
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(code);
}

}  // namespace

int run_daemon(const RunOptions& options) {
  config::Manifest manifest;
  try {
    manifest = config::load_manifest(options.config_path);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return kExitConfig;
  }
  ::signal(SIGPIPE, SIG_IGN);

  boost::asio::io_context io;
  // Signals first, so that a SIGTERM during start-up is handled like any other.
  boost::asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  runtime::SteadyClock clock;
  std::shared_ptr<registry::Registry> registry;
  try {
    registry = registry::make_registry(io.get_executor(), manifest.registry, clock);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: registry.kind: %s\n", options.config_path.c_str(), e.what());
    return kExitConfig;
  }
  auto executor = io.get_executor();
  supervisor::Supervisor supervisor(
      executor, manifest, registry,
      [executor](const config::ServiceSpec& spec) {
        return probe::make_grpc_health_prober(executor, spec);
      },
      clock);

  bool stopping = false;
  int exit_code = kExitOk;
  std::function<void()> wait_for_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      if (signo == SIGHUP) {
        spdlog::warn("SIGHUP received: manifest reload is not supported by this version; ignored");
        return wait_for_signal();
      }
      if (stopping) {
        spdlog::warn("second {} received: exiting without waiting for deregistration",
                     signal_name(signo));
        leave(128 + signo);
      }
      stopping = true;
      spdlog::info("{} received: deregistering", signal_name(signo));
      supervisor.shutdown([&](bool clean) {
        if (!clean)
          spdlog::warn("deregistration incomplete; remaining entries expire with the lease");
        exit_code = kExitOk;
        io.stop();
      });
      wait_for_signal();
    });
  };
  wait_for_signal();

  spdlog::info("grpc-registrar starting: {} service(s) from {}", manifest.services.size(),
               options.config_path);
  try {
    supervisor.start();
    io.run();
  } catch (const std::exception& e) {
    // A bug, not an input: input is validated before the loop starts. Leave loudly; whatever
    // is registered expires with the lease.
    spdlog::critical("internal error: {}", e.what());
    leave(kExitSoftware);
  }
  spdlog::info("grpc-registrar stopped");
  leave(exit_code);
}

}  // namespace registrar::cli
