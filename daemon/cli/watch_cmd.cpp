// `grpc-registrar watch NAME`: the instances of a service at start and again on every change,
// each time the whole set (never a difference to apply), through the registry's own change
// notification (discovery/: etcd's Watch, Consul's blocking queries). An outage prints one error
// event and never an empty set; once the registry answers again the set is read again and
// printed if it changed. --exec CMD runs CMD with the set on stdin after each change.
// SIGTERM/SIGINT: exit 0.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <optional>

#include "cli/commands.hpp"
#include "cli/exec_runner.hpp"
#include "cli/exit_codes.hpp"
#include "cli/instance_output.hpp"
#include "cli/leave.hpp"
#include "cli/registry_flags.hpp"
#include "discovery/factory.hpp"
#include "runtime/clock.hpp"

namespace registrar::cli {

namespace {

// One event on stdout (json: one line; table: a "#" heading and the table; addrs: the addresses
// and an empty line). Errors: a json line, else a line on stderr.
void print_event(const discovery::Event& event, OutputFormat format, const std::string& name,
                 const std::string& who) {
  const std::string time = runtime::rfc3339_utc(std::chrono::system_clock::now());
  if (format == OutputFormat::Json) {
    std::printf("%s\n", render_event_json(event, time).c_str());
  } else if (!event.ok()) {
    std::fprintf(stderr, "%s: %s %s\n", who.c_str(), time.c_str(), event.error.c_str());
  } else if (format == OutputFormat::Table) {
    std::printf("# %s %zu instance%s of %s\n%s", time.c_str(), event.set->size(),
                event.set->size() == 1 ? "" : "s", name.c_str(),
                render(*event.set, format).c_str());
  } else {
    std::printf("%s\n", render(*event.set, format).c_str());
  }
  std::fflush(stdout);
}

}  // namespace

void add_watch_options(CLI::App& cmd, ReadOptions& o) {
  add_read_options(cmd, o);
  cmd.add_option("--exec", o.exec,
                 "After each change, run CMD (/bin/sh -c) with the set on stdin, as --output "
                 "prints it for `resolve`; one run at a time, changes during a run coalesce into "
                 "one more")
      ->type_name("CMD");
}

int watch(const ReadOptions& o, const std::string& config_path, bool config_given) {
  const std::string who = "grpc-registrar watch";
  StderrLog log(who);
  int exit_code = kExitOk;
  const std::optional<ReadSetup> setup = read_setup(o, config_path, config_given, who, exit_code);
  if (!setup) return exit_code;
  const OutputFormat format = output_format(o.output);

  boost::asio::io_context ioc;
  runtime::SteadyClock clock;
  auto instancer =
      discovery::make_instancer(ioc.get_executor(), setup->registry, setup->query, clock);
  std::optional<ExecRunner> runner;
  if (!o.exec.empty()) runner.emplace(ioc, o.exec, who);
  boost::asio::signal_set signals(ioc, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    instancer->stop();
    ioc.stop();
  });
  instancer->watch([&](const discovery::Event& event) {
    print_event(event, format, o.name, who);
    if (event.ok() && runner) runner->submit(render(*event.set, format));
  });
  ioc.run();
  leave(kExitOk);
}

}  // namespace registrar::cli
