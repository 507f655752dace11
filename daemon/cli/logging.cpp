#include "cli/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace registrar::cli {

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
    const auto level = spdlog::level::to_string_view(msg.level);
    j["level"] = std::string(level.data(), level.size());
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

}  // namespace

bool setup_logging(const LogOptions& options) {
  const auto level = spdlog::level::from_str(options.level);
  if (level == spdlog::level::off && options.level != "off") return false;
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("grpc-registrar", sink);
  if (options.format == LogFormat::Json)
    logger->set_formatter(std::make_unique<JsonFormatter>(options.timestamps));
  else
    logger->set_pattern(options.timestamps ? "%Y-%m-%dT%H:%M:%S.%e %l %v" : "%l %v");
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);  // a sidecar's log is small; never lose the last lines
  spdlog::set_default_logger(logger);
  return true;
}

}  // namespace registrar::cli
