// Helpers for the read side's end-to-end tests (discovery_*_test.cpp): running `resolve`, parsing
// its outputs, and following a running `watch`.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "itest.hpp"

namespace registrar::itest {

// `resolve -o json` output: one object per line, by id.
std::map<std::string, nlohmann::json> json_lines_by_id(const std::string& out);
// The lines of `text`, as a set (`-o addrs`).
std::set<std::string> line_set(const std::string& text);

// A running `grpc-registrar watch ... -o json`: its events, one JSON object per line.
class WatchProcess {
 public:
  explicit WatchProcess(std::vector<std::string> args);
  // Every event printed so far.
  std::vector<nlohmann::json> events() const;
  // Waits until more than `seen` events are printed and returns the newest; nullopt at the
  // deadline.
  std::optional<nlohmann::json> wait_for_event(std::size_t seen, Millis timeout);
  // The set events printed so far (error events left out), and the newest set once more than
  // `seen` sets are printed (nullopt at the deadline).
  std::vector<nlohmann::json> sets() const;
  std::optional<nlohmann::json> wait_for_set(std::size_t seen, Millis timeout);
  // Whether an error event naming `text` was printed.
  bool printed_error(const std::string& text) const;
  // The ids of a set event, sorted.
  static std::set<std::string> ids(const nlohmann::json& event);
  Process& process() { return *process_; }

 private:
  std::unique_ptr<Process> process_;
};

}  // namespace registrar::itest
