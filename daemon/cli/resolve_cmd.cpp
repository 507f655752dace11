// `grpc-registrar resolve NAME`: one read of the registry, through the same reader a client's
// Instancer would be (discovery/), printed for people or scripts; --check adds a
// grpc.health.v1 Check of every instance. Exit 0 at least one instance (with --check: at least
// one SERVING), 1 none, 69 registry unreachable, 64 usage, 78 bad manifest.
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <optional>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/flag_duration.hpp"
#include "cli/instance_checks.hpp"
#include "cli/instance_output.hpp"
#include "cli/leave.hpp"
#include "cli/registry_flags.hpp"
#include "config/duration.hpp"
#include "discovery/factory.hpp"
#include "probe/tls_credentials.hpp"
#include "runtime/clock.hpp"
#include "runtime/timer.hpp"

namespace registrar::cli {

namespace {

constexpr int kExitNone = 1;

// One list() of the registry within `timeout`: the event, or an error naming the timeout. The
// io_context and the reader stay alive after it: the caller leaves the process without
// destroying them (leave()), since a cancelled call may still complete on gRPC's threads.
discovery::Event read_once(const ReadSetup& setup, boost::asio::io_context& ioc,
                           discovery::Instancer& instancer, const runtime::Clock& clock) {
  std::optional<discovery::Event> result;
  runtime::Timer deadline(ioc.get_executor(), clock);
  // The clients' own deadlines are a little under --timeout; this one also covers resolving and
  // a TLS handshake, so that the command never waits longer than it was told.
  deadline.arm_after(setup.timeout, [&] {
    if (!result)
      result = discovery::Event::failure(describe_registry(setup.registry) + ": no answer within " +
                                         config::format_duration(setup.timeout));
  });
  instancer.list([&](const discovery::Event& e) {
    if (!result) result = e;
  });
  for (int i = 0; !result && i < 1'000'000 && ioc.run_one() > 0; ++i) {
  }
  instancer.stop();
  return result ? *result : discovery::Event::failure(describe_registry(setup.registry));
}

// --check's settings, as `probe`'s flags give them; nullopt after a usage message.
struct CheckSettings {
  config::TlsSpec tls;
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  config::Duration connect_timeout{1000};
  config::Duration rpc_timeout{1000};
};
std::optional<CheckSettings> check_settings(const ProbeOptions& o, const std::string& who) {
  CheckSettings s;
  std::string why;
  for (auto [flag, text, out] :
       {std::tuple{"--connect-timeout", &o.connect_timeout, &s.connect_timeout},
        std::tuple{"--rpc-timeout", &o.rpc_timeout, &s.rpc_timeout}}) {
    auto d = flag_duration(flag, *text, why);  // the one duration message
    if (!d) {
      std::fprintf(stderr, "%s: %s\n", who.c_str(), why.c_str());
      return std::nullopt;
    }
    *out = *d;
  }
  auto tls = probe_tls_spec(o);
  if (!tls) return std::nullopt;
  s.tls = *tls;
  std::string error;
  s.credentials = probe::make_channel_credentials(s.tls, error, probe_tls_flag_names());
  if (!s.credentials) {
    std::fprintf(stderr, "%s: %s\n", who.c_str(), error.c_str());
    return std::nullopt;
  }
  return s;
}

}  // namespace

void add_resolve_options(CLI::App& cmd, ReadOptions& o) {
  add_read_options(cmd, o);
  cmd.add_option("--check", o.check,
                 "Call grpc.health.v1.Health/Check on every instance, in parallel, for SERVICE "
                 "(default \"\": the whole server); timeouts and TLS as `probe`'s flags")
      ->type_name("[SERVICE]")
      ->expected(0, 1);
  add_health_check_flags(cmd, o.check_options);
}

int resolve(const ReadOptions& o, const std::string& config_path, bool config_given) {
  const std::string who = "grpc-registrar resolve";
  StderrLog log(who);
  int exit_code = kExitOk;
  const std::optional<ReadSetup> setup = read_setup(o, config_path, config_given, who, exit_code);
  if (!setup) return exit_code;
  std::optional<CheckSettings> checking;
  if (o.check) {
    checking = check_settings(o.check_options, who);
    if (!checking) return kExitUsage;
  }
  boost::asio::io_context ioc;
  runtime::SteadyClock clock;
  auto instancer =
      discovery::make_instancer(ioc.get_executor(), setup->registry, setup->query, clock);
  const discovery::Event event = read_once(*setup, ioc, *instancer, clock);
  if (!event.ok()) {
    std::fprintf(stderr, "%s: %s\n", who.c_str(), event.error.c_str());
    leave(kExitUnavailable);
  }
  const discovery::InstanceSet& set = *event.set;
  std::optional<CheckResults> checks;
  if (checking)
    checks = check_instances(set, *o.check, checking->tls, checking->credentials,
                             checking->connect_timeout, checking->rpc_timeout);
  const std::string text = render(set, output_format(o.output), checks ? &*checks : nullptr);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  if (set.empty()) {
    std::fprintf(stderr, "%s: no %sinstance of %s in %s\n", who.c_str(),
                 o.healthy_only ? "passing " : "", o.name.c_str(),
                 describe_registry(setup->registry).c_str());
    leave(kExitNone);
  }
  if (checks && std::none_of(checks->begin(), checks->end(),
                             [](const auto& c) { return c.second.serving; })) {
    std::fprintf(stderr, "%s: no instance of %s answered SERVING\n", who.c_str(), o.name.c_str());
    leave(kExitNone);
  }
  leave(kExitOk);
}

}  // namespace registrar::cli
