// How `resolve` and `watch` print instances: a table for people, one JSON object per line or
// host:port per line for scripts. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "discovery/instance.hpp"

namespace registrar::cli {

enum class OutputFormat { Table, Json, Addrs };
OutputFormat output_format(const std::string& name);  // "table", "json", "addrs"

// resolve --check: one grpc.health.v1 Check of an instance.
struct CheckResult {
  std::string status;  // SERVING, NOT_SERVING, SERVICE_UNKNOWN, UNKNOWN, or the gRPC failure
  std::int64_t latency_ms = 0;
  bool serving = false;
};
using CheckResults = std::map<std::string, CheckResult>;  // by instance id

// The set, ordered by id:
//   table: a header (ID ADDRESS HEALTH TAGS META, and CHECK LATENCY with checks), a row each;
//          nothing for an empty set
//   json:  {"id","name","address","port","health","tags","meta"[,"check":{"status",
//          "latency_ms"}]} per line
//   addrs: host:port per line ([v6]:port), with checks only the SERVING ones
std::string render(const discovery::InstanceSet& set, OutputFormat format,
                   const CheckResults* checks = nullptr);

// One JSON object (one line) for a watch event: {"time","instances":[...]} or
// {"time","error"}; `time` is RFC 3339 UTC with milliseconds.
std::string render_event_json(const discovery::Event& event, const std::string& time);

}  // namespace registrar::cli
