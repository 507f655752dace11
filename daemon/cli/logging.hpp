// spdlog set-up: text (default) or JSON lines on stderr; no timestamps under journald.
#pragma once

#include <string>

namespace registrar::cli {

enum class LogFormat { Text, Json };

struct LogOptions {
  std::string level = "info";  // trace|debug|info|warn|error|critical|off
  LogFormat format = LogFormat::Text;
  bool timestamps = true;  // false under systemd (JOURNAL_STREAM set) or --no-log-timestamps
};

// Returns false (and leaves logging unchanged) for an unknown level.
bool setup_logging(const LogOptions& options);

}  // namespace registrar::cli
