// `grpc-registrar run` (and `register`): the daemon. Loads the manifest, wires the registry,
// the supervisor and the status server on one io_context, and answers signals until the last
// deregistration.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/leave.hpp"
#include "cli/ops.hpp"
#include "cli/token_preflight.hpp"
#include "config/duration.hpp"
#include "config/error.hpp"
#include "config/manifest_parser.hpp"
#include "probe/grpc_health_prober.hpp"
#include "registry/factory.hpp"
#include "runtime/owner.hpp"
#include "supervisor/supervisor.hpp"

#ifndef REGISTRAR_VERSION
#define REGISTRAR_VERSION "unknown"
#endif

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
    case SIGUSR1:
      return "SIGUSR1";
    case SIGUSR2:
      return "SIGUSR2";
    default:
      return "signal";
  }
}

// Defaults that depend on the running process rather than on the manifest's text.
void fill_in_identity(config::Manifest& m, const std::string& manifest_path) {
  if (m.registry.etcd.owner.empty()) m.registry.etcd.owner = runtime::default_owner(manifest_path);
  if (m.registry.consul.owner.empty())
    m.registry.consul.owner = runtime::default_owner(manifest_path);
  if (m.registry.zookeeper.owner.empty())
    m.registry.zookeeper.owner = runtime::default_owner(manifest_path);
}

// SIGHUP: the manifest is read again from the same path and applied in place. A manifest that
// does not load, or that changes the registry section, is refused as a whole: one error line,
// and the running manifest stays in force (nothing is deregistered).
// `bound`: where the status server listens (the port chosen for ":0"), for the message.
void reload_manifest(supervisor::Supervisor& supervisor, const std::string& path,
                     const std::string& status_listen_in_force, const std::string& bound,
                     bool status_from_flag) {
  config::Manifest next;
  try {
    next = config::load_manifest(path);
  } catch (const config::ConfigError& e) {
    spdlog::error("reload refused: {}; the running manifest stays in force", e.what());
    return;
  }
  fill_in_identity(next, path);
  // The status server keeps its socket until restart; say so rather than pretend.
  if (!status_from_flag && next.status.listen != status_listen_in_force)
    spdlog::warn(
        "reload: status.listen changed to '{}'; the status server stays on '{}' until "
        "restart",
        next.status.listen, bound.empty() ? status_listen_in_force : bound);
  const supervisor::ReloadResult r = supervisor.reload(std::move(next));
  if (!r.applied) {
    spdlog::error("reload refused: {}; the running manifest stays in force", r.error);
    return;
  }
  spdlog::info("reload: {} added, {} removed, {} changed, {} unchanged", r.plan.added.size(),
               r.plan.removed.size(), r.plan.reprobed.size() + r.plan.rewritten.size(),
               r.plan.unchanged.size());
}

// What is left in the registry after an incomplete deregistration, and when it goes away: each
// backend lets entries of a daemon that stopped talking to it go differently.
std::string what_is_left(const config::RegistrySpec& r) {
  if (r.kind == config::RegistryKind::Consul) {
    // docs/consul.md: the TTL check goes critical, then the agent's reaper removes the service.
    return "the services left turn critical when their check TTL runs out (check_ttl " +
           config::format_duration(r.consul.check_ttl) +
           ") and Consul removes them after deregister_critical_after (" +
           config::format_duration(r.consul.deregister_critical_after) + ")";
  }
  if (r.kind == config::RegistryKind::ZooKeeper) {
    // docs/zookeeper.md: the session was not closed; the server expires it, and its ephemeral
    // nodes with it, once the negotiated session timeout has passed without a heartbeat.
    return "the nodes left are ephemeral: ZooKeeper deletes them when the session expires "
           "(session_timeout " +
           config::format_duration(r.zookeeper.session_timeout) + ", as negotiated)";
  }
  if (r.kind == config::RegistryKind::Eureka) {
    // docs/eureka.md: Eureka expires an instance 2 x its lease after the last heartbeat.
    return "the instances left expire 2 x lease_duration (" +
           config::format_duration(2 * r.eureka.lease_duration) +
           ") after their last heartbeat, at the Eureka server's next eviction run";
  }
  if (r.kind == config::RegistryKind::Nacos) {
    // docs/nacos.md: without beats Nacos marks an ephemeral instance unhealthy, then removes it.
    return "the instances left turn unhealthy 15 s after their last beat and Nacos removes them "
           "after 30 s (its heart-beat and ip-delete timeouts)";
  }
  return "the entries left expire with their lease (lease_ttl " +
         config::format_duration(r.etcd.lease_ttl) + ")";
}

// The manifest `run` or `register` runs, its identity filled in; nullopt after a refusal (printed).
std::optional<config::Manifest> manifest_to_run(const RunOptions& options) {
  config::Manifest manifest;
  if (options.manifest) {
    manifest = *options.manifest;  // `register`: built from flags
  } else {
    try {
      manifest = config::load_manifest(options.config_path);
    } catch (const config::ConfigError& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return std::nullopt;
    }
  }
  if (!options.status_listen.empty()) manifest.status.listen = options.status_listen;
  if (options.status_allow_remote) manifest.status.allow_remote = true;
  if (!options.control_socket.empty()) manifest.status.control_socket = options.control_socket;
  fill_in_identity(manifest, options.config_path);
  return manifest;
}

// The daemon's signals: SIGHUP reloads, SIGUSR1 drains, the first SIGTERM/SIGINT deregisters
// and then stops the loop, a second one leaves at once. SIGUSR2 hands over: the loop stops with
// every entry left registered (etcd: the lease is neither revoked nor kept alive; Consul: the
// services stay), for the next run to adopt as it adopts a crashed run's, so a restart
// (systemd's RestartForceExitStatus, a package upgrade) causes no gap.
class SignalHandler {
 public:
  SignalHandler(boost::asio::io_context& io, boost::asio::signal_set& signals,
                const RunOptions& options, const config::Manifest& manifest,
                supervisor::Supervisor& supervisor, Ops& ops)
      : io_(io),
        signals_(signals),
        options_(options),
        manifest_(manifest),
        supervisor_(supervisor),
        ops_(ops) {}

  void wait() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
      if (!ec) on_signal(signo);
    });
  }

  // SIGUSR2 stopped the loop: exit with kExitHandover, nothing deregistered.
  bool handing_over() const { return handing_over_; }

 private:
  void on_signal(int signo) {
    if (signo == SIGHUP || signo == SIGUSR1) {
      if (stopping_) {
        spdlog::warn("{} received while stopping: ignored", signal_name(signo));
      } else if (signo == SIGHUP && options_.manifest) {
        spdlog::info("SIGHUP received: nothing to reload (registered from flags)");
      } else if (signo == SIGHUP) {
        spdlog::info("SIGHUP received: reloading {}", options_.config_path);
        reload_manifest(supervisor_, options_.config_path, manifest_.status.listen,
                        ops_.listening_on(), !options_.status_listen.empty());
      } else {
        spdlog::info("SIGUSR1 received: draining");
        supervisor_.drain();
      }
      return wait();
    }
    if (signo == SIGUSR2) return hand_over();
    if (stopping_) {
      spdlog::warn("second {} received: exiting without waiting for deregistration",
                   signal_name(signo));
      leave(128 + signo);
    }
    stopping_ = true;
    spdlog::info("{} received: deregistering", signal_name(signo));
    // The deregistration first: the status monitor's stopping refresh reads every service (at
    // N = 10,000 about 100 ms of the loop) and need not delay the revoke.
    supervisor_.shutdown([this](bool clean) {
      if (!clean) spdlog::warn("deregistration incomplete; {}", what_is_left(manifest_.registry));
      io_.stop();
    });
    ops_.stopping();
    wait();
  }

  void hand_over() {
    if (stopping_) {
      spdlog::warn("SIGUSR2 received while stopping: ignored (deregistration goes on)");
      return wait();
    }
    stopping_ = true;
    handing_over_ = true;
    const registry::RegistryState state = supervisor_.registry_state();
    spdlog::info(
        "SIGUSR2 received: handing over: {} entr{} left registered for the next run to "
        "adopt (etcd: until the lease expires; Consul: until the check goes critical)",
        state.registered, state.registered == 1 ? "y" : "ies");
    ops_.stopping();
    io_.stop();
  }

  boost::asio::io_context& io_;
  boost::asio::signal_set& signals_;
  const RunOptions& options_;
  const config::Manifest& manifest_;  // as started (a reload keeps the registry section)
  supervisor::Supervisor& supervisor_;
  Ops& ops_;
  bool stopping_ = false;
  bool handing_over_ = false;
};

}  // namespace

int run_daemon(const RunOptions& options) {
  const std::optional<config::Manifest> loaded = manifest_to_run(options);
  if (!loaded) return kExitConfig;
  const config::Manifest& manifest = *loaded;
  // A token file `check` refuses is refused here too, before anything is registered: running
  // without the token it names would only fail later, request by request (docs/security.md).
  if (const TokenFileFinding token = check_token_file(manifest); !token.error.empty()) {
    std::fprintf(stderr, "%s: %s\n", manifest.source.c_str(), token.error.c_str());
    return kExitConfig;
  } else if (!token.warning.empty()) {
    spdlog::warn("{}", token.warning);
  }
  ::signal(SIGPIPE, SIG_IGN);

  boost::asio::io_context io;
  // Signals first, so that a SIGTERM during start-up is handled like any other.
  boost::asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  signals.add(SIGUSR1);
  signals.add(SIGUSR2);
  runtime::SteadyClock clock;
  auto executor = io.get_executor();
  // Before the registry: the backend reports to its metrics, so Ops must outlive it.
  Ops ops(executor, clock, manifest, REGISTRAR_VERSION);
  std::shared_ptr<registry::Registry> registry;
  try {
    registry = registry::make_registry(io.get_executor(), manifest.registry, clock,
                                       ops.registry_observer());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: registry.kind: %s\n", options.config_path.c_str(), e.what());
    return kExitConfig;
  }
  if (std::string error; !ops.listen(error)) {
    // The flag set the address, not the manifest (which may have no status section): name it.
    if (!options.status_listen.empty() && error.rfind("status.listen: ", 0) == 0) {
      std::fprintf(stderr, "grpc-registrar: --status-listen %s: %s\n",
                   options.status_listen.c_str(), error.substr(15).c_str());
    } else {
      std::fprintf(stderr, "%s: %s\n", manifest.source.c_str(), error.c_str());
    }
    return kExitConfig;
  }
  const auto owned_supervisor = supervisor::Supervisor::create(
      executor, manifest, registry, ops.wrap([executor, &clock](const config::ServiceSpec& spec) {
        return probe::make_grpc_health_prober(executor, spec, clock);
      }),
      clock);
  supervisor::Supervisor& supervisor = *owned_supervisor;
  ops.attach(supervisor);
  SignalHandler handler(io, signals, options, manifest, supervisor, ops);
  handler.wait();

  spdlog::info("grpc-registrar starting: {} service(s) from {}", manifest.services.size(),
               manifest.source);
  try {
    supervisor.start();
    ops.start();
    io.run();
  } catch (const std::exception& e) {
    // A bug, not an input: input is validated before the loop starts. Leave loudly; whatever
    // is registered goes away as an incomplete deregistration leaves it (what_is_left).
    spdlog::critical("internal error: {}", e.what());
    leave(kExitSoftware);
  }
  ops.close();  // leave() runs no destructor: remove the control socket's file now
  if (handler.handing_over()) {
    spdlog::info("grpc-registrar stopped for a hand-over (exit {})", kExitHandover);
    leave(kExitHandover);
  }
  spdlog::info("grpc-registrar stopped");
  leave(kExitOk);
}

}  // namespace registrar::cli
