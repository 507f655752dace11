#include "cli/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <utility>

namespace registrar::cli {

std::string_view level_name(int spdlog_level) {
  static constexpr std::string_view kNames[] = {"trace", "debug",    "info", "warn",
                                                "error", "critical", "off"};
  const auto i = static_cast<std::size_t>(spdlog_level);
  return i < std::size(kNames) ? kNames[i] : "info";
}

namespace {

// One JSON object per line: {"ts":"...","level":"info","msg":"..."}.
class JsonFormatter final : public spdlog::formatter {
 public:
  explicit JsonFormatter(bool timestamps) : timestamps_(timestamps) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::ordered_json j;
    if (timestamps_) {
      const auto t = std::chrono::system_clock::to_time_t(msg.time);
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch())
              .count() %
          1000;
      std::tm tm{};
      gmtime_r(&t, &tm);
      j["ts"] = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    }
    j["level"] = std::string(level_name(msg.level));
    j["msg"] = std::string(msg.payload.data(), msg.payload.size());
    const std::string line =
        j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>(timestamps_);
  }

 private:
  bool timestamps_;
};

// %& in a pattern: the level as --log-level names it ("warn", not spdlog's "warning").
class LevelFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string_view name = level_name(msg.level);
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LevelFlag>();
  }
};

// %* in a pattern: "<N>", the syslog priority journald reads from the start of a line.
class PriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string p = "<" + std::to_string(syslog_priority(msg.level)) + ">";
    dest.append(p.data(), p.data() + p.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<PriorityFlag>();
  }
};

}  // namespace

int syslog_priority(int spdlog_level) {
  switch (static_cast<spdlog::level::level_enum>(spdlog_level)) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return 7;
    case spdlog::level::info:
      return 6;
    case spdlog::level::warn:
      return 4;
    case spdlog::level::err:
      return 3;
    case spdlog::level::critical:
      return 2;
    default:
      return 6;
  }
}

RepeatFilterSink::RepeatFilterSink(std::shared_ptr<spdlog::sinks::sink> inner,
                                   std::chrono::milliseconds window)
    : inner_(std::move(inner)), window_(window) {}

void RepeatFilterSink::end_run(const spdlog::details::log_msg& next) {
  if (suppressed_ == 0) return;
  const std::string text = "(previous line repeated " + std::to_string(suppressed_) + " more time" +
                           (suppressed_ == 1 ? "" : "s") + ")";
  spdlog::details::log_msg note(next);
  note.level = last_level_;
  note.payload = spdlog::string_view_t(text.data(), text.size());
  suppressed_ = 0;
  inner_->log(note);
}

void RepeatFilterSink::sink_it_(const spdlog::details::log_msg& msg) {
  if (window_.count() <= 0) return inner_->log(msg);
  std::string key = std::to_string(static_cast<int>(msg.level));
  key += '\0';
  key.append(msg.payload.data(), msg.payload.size());
  if (key == last_key_) {
    if (msg.time - window_start_ < window_) {
      ++suppressed_;
      return;
    }
    window_start_ = msg.time;
    const std::size_t suppressed = std::exchange(suppressed_, 0);
    if (suppressed == 0) return inner_->log(msg);
    const std::string text = std::string(msg.payload.data(), msg.payload.size()) + " (" +
                             std::to_string(suppressed) + " identical line" +
                             (suppressed == 1 ? "" : "s") + " suppressed)";
    spdlog::details::log_msg copy(msg);
    copy.payload = spdlog::string_view_t(text.data(), text.size());
    return inner_->log(copy);
  }
  end_run(msg);
  last_key_ = std::move(key);
  last_level_ = msg.level;
  window_start_ = msg.time;
  inner_->log(msg);
}

void RepeatFilterSink::flush_() {
  inner_->flush();
}

bool setup_logging(const LogOptions& options) {
  const auto level = spdlog::level::from_str(options.level);
  if (level == spdlog::level::off && options.level != "off") return false;
  auto stderr_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  if (options.format == LogFormat::Json) {
    stderr_sink->set_formatter(std::make_unique<JsonFormatter>(options.timestamps));
  } else {
    // UTC with a Z, as the JSON lines: one clock for both formats, whatever TZ says.
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<PriorityFlag>('*');
    formatter->add_flag<LevelFlag>('&');
    std::string pattern = options.journald ? "%*" : "";
    pattern += options.timestamps ? "%Y-%m-%dT%H:%M:%S.%eZ %& %v" : "%& %v";
    formatter->set_pattern(pattern);
    stderr_sink->set_formatter(std::move(formatter));
  }
  auto sink = std::make_shared<RepeatFilterSink>(stderr_sink, options.repeat_window);
  auto logger = std::make_shared<spdlog::logger>("grpc-registrar", sink);
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);  // a sidecar's log is small; never lose the last lines
  spdlog::set_default_logger(logger);
  return true;
}

}  // namespace registrar::cli
