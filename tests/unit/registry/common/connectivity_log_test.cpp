#include "registry/common/connectivity_log.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <sstream>
#include <vector>

using namespace registrar;
using registry::Connectivity;
using registry::RegistryState;
using registry::common::ConnectivityLog;

namespace {

// The log lines written meanwhile, caught by a sink installed as the default logger.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out_);
    sink->set_pattern("%l: %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("connectivity-test", sink));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

struct Harness {
  RegistryState state;
  std::vector<RegistryState> reported;
  registry::Registry::StateCallback on_state = [this](const RegistryState& s) {
    reported.push_back(s);
  };
  std::vector<bool> changes;  // each on_change call, with its `recovered`
  ConnectivityLog log{
      state, on_state,
      ConnectivityLog::Words{[] { return std::string("Registry at r:1"); },
                             [] { return std::string("Registry reachable at r:1"); }},
      [this](bool recovered) { changes.push_back(recovered); }};
};

}  // namespace

TEST_CASE("connectivity log: one line, one state report per change, none while unchanged") {
  CapturedLog captured;
  Harness h;
  CHECK(h.log.set(Connectivity::Down, "connect: refused"));
  CHECK_FALSE(h.log.set(Connectivity::Down, "connect: refused"));
  CHECK(h.log.set(Connectivity::Up, ""));
  CHECK_FALSE(h.log.set(Connectivity::Up, ""));
  CHECK(captured.lines() ==
        std::vector<std::string>{
            "warning: registry: Registry at r:1 unreachable (connect: refused); retrying with "
            "backoff",
            "info: registry: Registry reachable at r:1"});
  REQUIRE(h.reported.size() == 2);
  CHECK(h.reported[0].connectivity == Connectivity::Down);
  CHECK(h.reported[0].last_error == "connect: refused");
  CHECK(h.reported[1].connectivity == Connectivity::Up);
  CHECK(h.reported[1].last_error.empty());
  CHECK(h.changes == std::vector<bool>{false, true});  // the second is a recovery
}

TEST_CASE("connectivity log: up from connecting is a change but not a recovery") {
  Harness h;
  REQUIRE(h.state.connectivity == Connectivity::Connecting);
  h.log.set(Connectivity::Up, "");
  CHECK(h.changes == std::vector<bool>{false});
  CHECK(h.log.current() == Connectivity::Up);
}

TEST_CASE("connectivity log: while up, last_error is the problem that stands, without a line") {
  CapturedLog captured;
  Harness h;
  h.log.set(Connectivity::Up, "");
  h.log.set(Connectivity::Up, "refused: permission denied");
  CHECK(h.state.last_error == "refused: permission denied");
  CHECK(captured.lines().size() == 1);
  CHECK(h.reported.size() == 1);
}

TEST_CASE("connectivity log: each new cause of one outage is told once, a known one is not") {
  CapturedLog captured;
  Harness h;
  h.log.set(Connectivity::Down, "GET /: refused", "refused");
  h.log.set(Connectivity::Down, "GET /: tls handshake", "tls handshake");
  h.log.set(Connectivity::Down, "GET /: refused", "refused");  // by turns: not again
  h.log.set(Connectivity::Down, "GET /: tls handshake", "tls handshake");
  CHECK(h.state.last_error == "GET /: tls handshake");  // always the latest
  CHECK(captured.lines() ==
        std::vector<std::string>{
            "warning: registry: Registry at r:1 unreachable (GET /: refused); retrying with "
            "backoff",
            "warning: registry: Registry at r:1 still unreachable, now: GET /: tls handshake; "
            "retrying with backoff"});
  // A new outage starts a new list.
  h.log.set(Connectivity::Up, "");
  h.log.set(Connectivity::Down, "GET /: refused", "refused");
  h.log.set(Connectivity::Down, "GET /: tls handshake", "tls handshake");
  CHECK(captured.lines().size() == 5);
}

TEST_CASE("connectivity log: the causes told in one outage are bounded") {
  CapturedLog captured;
  Harness h;
  for (std::size_t i = 0; i < 3 * ConnectivityLog::kMaxCauses; ++i)
    h.log.set(Connectivity::Down, "e" + std::to_string(i), "cause " + std::to_string(i));
  CHECK(captured.lines().size() == ConnectivityLog::kMaxCauses);
}

TEST_CASE("connectivity log: a registry that answers with errors is called what it is") {
  CapturedLog captured;
  Harness h;
  CHECK(h.log.set(Connectivity::Down, "PUT /x: 500 internal error", "",
                  "answering with server errors"));
  CHECK(h.log.set(Connectivity::Up, ""));
  CHECK(captured.lines() ==
        std::vector<std::string>{
            "warning: registry: Registry at r:1 answering with server errors (PUT /x: 500 "
            "internal error); retrying with backoff",
            "info: registry: Registry reachable at r:1"});
  CHECK(h.reported.front().connectivity == Connectivity::Down);  // not answering usefully
}
