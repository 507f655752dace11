// Duration syntax of the manifest: "1500ms", "10s", "1m30s", "2h", or a bare "0".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/manifest.hpp"

namespace registrar::config {

// Largest accepted duration: it still fits in std::chrono::nanoseconds, so callers may convert
// to steady_clock durations without overflow (about 106751 days).
inline constexpr Duration kMaxDuration{9'223'372'036'854};

// Parses one or more "<digits><unit>" groups, units ms, s, m, h, from largest to smallest, each
// unit at most once ("1h30m", "1m30s", "2s500ms"). A bare "0" means zero. Negative values,
// fractions, bare numbers other than 0 and values above kMaxDuration are refused.
std::optional<Duration> parse_duration(std::string_view text);

// Same, and on failure sets `why` to a short reason such as "missing unit".
std::optional<Duration> parse_duration(std::string_view text, std::string& why);

// Shortest compound form, e.g. 90000ms -> "1m30s", 1500ms -> "1s500ms", 0 -> "0s".
// parse_duration(format_duration(d)) == d for every 0 <= d <= kMaxDuration.
std::string format_duration(Duration d);

}  // namespace registrar::config
