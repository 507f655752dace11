// Log repeats held back by RepeatFilterSink, on times the test chooses.
#include "cli/logging.hpp"

#include <spdlog/sinks/ostream_sink.h>

#include <catch2/catch.hpp>
#include <sstream>

using namespace registrar::cli;
using namespace std::chrono_literals;

namespace {

struct Harness {
  std::ostringstream out;
  std::shared_ptr<spdlog::sinks::ostream_sink_st> inner =
      std::make_shared<spdlog::sinks::ostream_sink_st>(out);
  RepeatFilterSink sink;
  spdlog::log_clock::time_point t0{};

  Harness() : sink(inner, 30s) { inner->set_pattern("%l %v"); }
  void log(std::chrono::milliseconds at, spdlog::level::level_enum level, const std::string& text) {
    spdlog::details::log_msg msg(t0 + at, spdlog::source_loc{}, "t", level,
                                 spdlog::string_view_t(text.data(), text.size()));
    sink.log(msg);
  }
  std::string take() {
    std::string s = out.str();
    out.str("");
    return s;
  }
};

}  // namespace

TEST_CASE("logging: a burst of identical lines is held back and counted", "[cli]") {
  Harness h;
  h.log(0s, spdlog::level::warn, "etcd unreachable");
  CHECK(h.take() == "warning etcd unreachable\n");
  h.log(1s, spdlog::level::warn, "etcd unreachable");
  h.log(2s, spdlog::level::warn, "etcd unreachable");
  CHECK(h.take().empty());
  // After the window: the line again, with the count, and a new window starts there.
  h.log(31s, spdlog::level::warn, "etcd unreachable");
  CHECK(h.take() == "warning etcd unreachable (2 identical lines suppressed)\n");
  h.log(40s, spdlog::level::warn, "etcd unreachable");
  CHECK(h.take().empty());
  h.log(62s, spdlog::level::warn, "etcd unreachable");
  CHECK(h.take() == "warning etcd unreachable (1 identical line suppressed)\n");
  // Nothing suppressed: no suffix.
  h.log(100s, spdlog::level::warn, "etcd unreachable");
  CHECK(h.take() == "warning etcd unreachable\n");
}

TEST_CASE("logging: another line ends the burst, saying how many were held back", "[cli]") {
  Harness h;
  h.log(0s, spdlog::level::warn, "etcd unreachable");
  h.log(1s, spdlog::level::warn, "etcd unreachable");
  h.log(2s, spdlog::level::warn, "etcd unreachable");
  h.log(3s, spdlog::level::info, "etcd reachable");
  CHECK(h.take() ==
        "warning etcd unreachable\nwarning (previous line repeated 2 more times)\n"
        "info etcd reachable\n");
  // The same text at another level is not a repeat.
  h.log(4s, spdlog::level::err, "etcd reachable");
  CHECK(h.take() == "error etcd reachable\n");
}

TEST_CASE("logging: state changes are never held back, however often they alternate", "[cli]") {
  Harness h;
  std::string want;
  for (int i = 0; i < 4; ++i) {
    h.log(std::chrono::seconds(2 * i), spdlog::level::warn, "service a is unhealthy");
    h.log(std::chrono::seconds(2 * i + 1), spdlog::level::info, "service a is healthy");
    want += "warning service a is unhealthy\ninfo service a is healthy\n";
  }
  CHECK(h.take() == want);
}

TEST_CASE("logging: syslog priorities for journald", "[cli]") {
  CHECK(syslog_priority(spdlog::level::debug) == 7);
  CHECK(syslog_priority(spdlog::level::info) == 6);
  CHECK(syslog_priority(spdlog::level::warn) == 4);
  CHECK(syslog_priority(spdlog::level::err) == 3);
  CHECK(syslog_priority(spdlog::level::critical) == 2);
}

TEST_CASE("log level names: the names --log-level takes, warn included", "[cli]") {
  // Issue 19: `--log-level warn` printed "warning" (spdlog's name) in both formats.
  CHECK(level_name(spdlog::level::warn) == "warn");
  CHECK(level_name(spdlog::level::err) == "error");
  CHECK(level_name(spdlog::level::info) == "info");
  CHECK(level_name(spdlog::level::critical) == "critical");
}
