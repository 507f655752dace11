// Helpers for the operations-surface tests (issue 5): the status server over HTTP, metric
// values, daemons started with extra environment, the source and build trees.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "itest.hpp"
#include "status/http_client.hpp"

namespace registrar::itest {

// The repository root and this build's root (compile definitions).
std::filesystem::path source_dir();
std::filesystem::path binary_dir();
std::string read_text(const std::filesystem::path& p);

// The port in the daemon's "status: listening on HOST:PORT" line.
std::optional<std::uint16_t> wait_for_status_port(Process& daemon, Millis timeout = 10s);

// GET (or another method) on 127.0.0.1:port; nullopt when nothing answers.
std::optional<status::HttpResult> http(std::uint16_t port, const std::string& path,
                                       const std::string& method = "GET");

// The value of one sample in a Prometheus exposition, e.g.
// metric(text, "grpc_registrar_service_healthy{service=\"a\"}"). nullopt when absent.
std::optional<double> metric(const std::string& exposition, const std::string& series);

// Scrapes /metrics until `series` has a value satisfying `pred`; returns the last value seen.
template <class Pred>
std::optional<double> wait_for_metric(std::uint16_t port, const std::string& series, Pred pred,
                                      Millis timeout = 10s) {
  std::optional<double> last;
  wait_until(
      [&] {
        const auto r = http(port, "/metrics");
        if (!r || r->status != 200) return false;
        last = metric(r->body, series);
        return last && pred(*last);
      },
      timeout);
  return last;
}

// grpc-registrar with `args` as a long-running process (e.g. `register ...`), with `env` added.
std::unique_ptr<Process> start_registrar(const std::vector<std::string>& args,
                                         const EnvVars& env = {});

// The flags (--xxx) that `grpc-registrar <args> --help` lists.
std::vector<std::string> help_flags(const std::vector<std::string>& subcommand);

}  // namespace registrar::itest
