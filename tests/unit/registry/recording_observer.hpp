// A RegistryObserver that records every report, for the backends' metrics tests.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "metrics/registry_observer.hpp"

namespace registrar::test {

struct RecordingObserver final : metrics::RegistryObserver {
  struct Request {
    std::string kind;
    bool ok;
    std::chrono::nanoseconds latency;
  };
  std::vector<Request> requests;
  int regrants = 0;
  std::vector<std::chrono::nanoseconds> keepalives;

  void request(std::string_view kind, bool ok, std::chrono::nanoseconds latency) override {
    requests.push_back({std::string(kind), ok, latency});
  }
  void lease_regrant() override { ++regrants; }
  void keepalive_latency(std::chrono::nanoseconds latency) override {
    keepalives.push_back(latency);
  }

  // The kinds reported, in order, each with "!" appended when it failed: {"grant", "txn!"}.
  std::vector<std::string> kinds() const {
    std::vector<std::string> out;
    for (const auto& r : requests) out.push_back(r.kind + (r.ok ? "" : "!"));
    return out;
  }
  void clear() {
    requests.clear();
    regrants = 0;
    keepalives.clear();
  }
};

}  // namespace registrar::test
