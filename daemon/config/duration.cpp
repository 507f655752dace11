#include "config/duration.hpp"

#include <array>
#include <cstdint>

namespace registrar::config {
namespace {

struct Unit {
  std::string_view name;
  std::int64_t ms;
};

// Largest first; "ms" is listed before "m" only in the matcher below.
constexpr std::array<Unit, 4> kUnits{{{"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Index into kUnits of the unit at the start of `rest`, and its length; -1 if none.
int match_unit(std::string_view rest, std::size_t& len) {
  if (rest.starts_with("ms")) {
    len = 2;
    return 3;
  }
  if (rest.empty()) return -1;
  for (int i = 0; i < 3; ++i) {
    if (rest.front() == kUnits[i].name.front()) {
      len = 1;
      return i;
    }
  }
  return -1;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  std::string ignored;
  return parse_duration(text, ignored);
}

std::optional<Duration> parse_duration(std::string_view text, std::string& why) {
  if (text.empty()) {
    why = "empty duration";
    return std::nullopt;
  }
  if (text.front() == '-') {
    why = "negative durations are not allowed";
    return std::nullopt;
  }
  if (text == "0") return Duration{0};

  std::int64_t total = 0;
  int last_unit = -1;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!is_digit(text[i])) {
      why = "expected a number followed by a unit (ms, s, m, h), e.g. 1500ms, 10s, 1m30s";
      return std::nullopt;
    }
    std::int64_t value = 0;
    bool too_large = false;
    while (i < text.size() && is_digit(text[i])) {
      int digit = text[i] - '0';
      if (value > (INT64_MAX - digit) / 10) too_large = true;
      if (!too_large) value = value * 10 + digit;
      ++i;
    }
    if (i < text.size() && (text[i] == '.' || text[i] == ',')) {
      why = "fractions are not allowed; use a smaller unit, e.g. 1500ms instead of 1.5s";
      return std::nullopt;
    }
    std::size_t len = 0;
    int unit = match_unit(text.substr(i), len);
    if (unit < 0) {
      why = i == text.size()
                ? "missing unit (ms, s, m, h), e.g. 10s"
                : "unknown unit \"" + std::string(text.substr(i)) + "\" (allowed: ms, s, m, h)";
      return std::nullopt;
    }
    if (unit <= last_unit) {
      why = "units must appear once each, largest first (h, m, s, ms), e.g. 1h30m";
      return std::nullopt;
    }
    last_unit = unit;
    i += len;
    std::int64_t scale = kUnits[unit].ms;
    if (too_large || value > (kMaxDuration.count() - total) / scale) {
      why = "too large (the maximum is " + format_duration(kMaxDuration) + ")";
      return std::nullopt;
    }
    total += value * scale;
  }
  return Duration{total};
}

std::string format_duration(Duration d) {
  std::int64_t rest = d.count();
  if (rest == 0) return "0s";
  std::string out;
  if (rest < 0) {  // not produced by the parser; still printed legibly
    out = "-";
    rest = rest == INT64_MIN ? INT64_MAX : -rest;
  }
  for (const Unit& unit : kUnits) {
    if (rest >= unit.ms) {
      out += std::to_string(rest / unit.ms);
      out += unit.name;
      rest %= unit.ms;
    }
  }
  return out;
}

}  // namespace registrar::config
