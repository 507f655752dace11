// The read commands' common ground (`resolve`, `watch`): their flags, declared once; the registry
// section they read, from those flags or from the manifest; their log lines on stderr.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "config/manifest.hpp"
#include "discovery/instance.hpp"

namespace spdlog {
class logger;
}

namespace registrar::cli {

// Every flag of `resolve` (and of `watch`, which adds --exec): NAME, the registry flags, --tag,
// --healthy-only/--all, --output, --timeout.
void add_read_options(CLI::App& cmd, ReadOptions& o);

// The registry section to read and the query, or an exit code (64 for bad flags, 78 for a bad
// manifest, with one line on stderr prefixed by `who`). The registry comes from --etcd/--consul
// and the flags of that backend, which become manifest text and go through the manifest parser
// (every value checked as in a file; secrets from files and the environment only), or else from
// the manifest's registry section. --timeout bounds each request to the registry.
struct ReadSetup {
  config::RegistrySpec registry;
  discovery::Query query;
  config::Duration timeout{3000};
};
std::optional<ReadSetup> read_setup(const ReadOptions& o, const std::string& config_path,
                                    bool config_given, const std::string& who, int& exit_code);

// What the registry is, for messages: "etcd at 127.0.0.1:2379", "Consul agent at ...".
std::string describe_registry(const config::RegistrySpec& spec);

// While alive, log lines (a world-readable token file, an unreadable key) go to stderr as
// "<who>: <line>", next to the command's own messages; stdout carries only the result.
class StderrLog {
 public:
  explicit StderrLog(const std::string& who);
  ~StderrLog();
  StderrLog(const StderrLog&) = delete;
  StderrLog& operator=(const StderrLog&) = delete;

 private:
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace registrar::cli
