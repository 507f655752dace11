// spdlog set-up: text (default) or JSON lines on stderr; no timestamps and syslog priority
// prefixes under journald; identical lines repeated within a short window are held back and
// counted.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace registrar::cli {

enum class LogFormat { Text, Json };

struct LogOptions {
  std::string level = "info";  // trace|debug|info|warn|error|critical|off
  LogFormat format = LogFormat::Text;
  bool timestamps = true;  // false under systemd (JOURNAL_STREAM set) or --no-log-timestamps
  // Under journald (JOURNAL_STREAM set): text lines start with "<N>", the syslog priority of the
  // level, which journald strips and stores as the entry's priority (sd-daemon(3)).
  bool journald = false;
  // A run of identical consecutive messages (same level and text) is held back after the first
  // for this long; the run's end says how many were held back. 0 = off.
  std::chrono::milliseconds repeat_window{30000};
};

// Returns false (and leaves logging unchanged) for an unknown level. Timestamps are UTC with a Z
// in both formats ("2026-12-06T15:04:05.123Z").
bool setup_logging(const LogOptions& options);

// A level as --log-level names it, in both formats: trace, debug, info, warn, error, critical.
std::string_view level_name(int spdlog_level);

// A sink that forwards to another sink, holding back a burst: a message identical (level and
// text) to the one just before it, within `window` of the first of the run, is counted instead
// of written. Any other message ends the run: a "(previous line repeated N more times)" line at
// the run's level comes first, then the new message. A repeat after the window passes with
// " (N identical lines suppressed)" appended and starts a new window. Only consecutive repeats
// count, so state changes (healthy, unhealthy, healthy, ...) always appear, each time. Time is the
// message's own timestamp, so tests can drive it.
class RepeatFilterSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  RepeatFilterSink(std::shared_ptr<spdlog::sinks::sink> inner, std::chrono::milliseconds window);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;

 private:
  void end_run(const spdlog::details::log_msg& next);

  std::shared_ptr<spdlog::sinks::sink> inner_;
  std::chrono::milliseconds window_;
  std::string last_key_;                        // level + '\0' + text of the previous message
  spdlog::log_clock::time_point window_start_;  // first message of the current window
  spdlog::level::level_enum last_level_ = spdlog::level::info;
  std::size_t suppressed_ = 0;
};

// The syslog priority of a level: trace/debug 7, info 6, warn 4, error 3, critical 2.
int syslog_priority(int spdlog_level);

}  // namespace registrar::cli
