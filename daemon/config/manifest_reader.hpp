// The core of the manifest parser: YAML nodes read as checked maps, lists, strings, numbers and
// durations, every failure a ConfigError with the file, line, column and dotted field path. The
// section readers (manifest_sections.hpp) are built on it.
#pragma once

#include <yaml-cpp/yaml.h>

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/enums.hpp"
#include "config/error.hpp"
#include "config/interpolate.hpp"
#include "config/manifest.hpp"
#include "config/suggest.hpp"

namespace registrar::config {

using Keys = std::span<const std::string_view>;

// A node with the path that names it in messages and the position to report for it. Null
// values in maps carry the position of their key: yaml-cpp places them at the next token.
struct Value {
  YAML::Node node;
  std::string path;
  YAML::Mark mark;
};

// The keys of a map, in document order.
using Fields = std::vector<std::pair<std::string, Value>>;

// Allowed range of a duration, both ends included.
struct DurationRange {
  Duration min;
  Duration max;
};

// `"s"`.
std::string quoted(std::string_view s);
// "a map", "a list", `"scalar"` or "an empty value", for "expected X, got Y" messages.
std::string describe(const YAML::Node& node);
// "must be between MIN and MAX, got GOT" ("must be at most MAX, ..." when MIN is 0). `min_note`
// explains the minimum, when it needs a reason.
std::string range_message(DurationRange range, Duration got, std::string_view min_note = "");

// Reads values of one manifest. `source` names the file in every Location; ${VAR} references
// are resolved through `env`, which must outlive the reader.
class Reader {
 public:
  Reader(std::string source, const EnvLookup& env) : source_(std::move(source)), env_(env) {}

  const std::string& source() const { return source_; }
  const EnvLookup& env() const { return env_; }

  // ---- errors
  Location location(const YAML::Mark& mark) const;
  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& field,
                         const std::string& message) const;
  [[noreturn]] void fail(const Value& v, const std::string& message) const;
  // "missing required key KEY", at the map.
  [[noreturn]] void missing(const Value& map, std::string_view key) const;

  // ---- maps and lists
  // The keys of a map, in document order, after refusing non-string, duplicate and unknown
  // keys. A null value (an empty section) counts as an empty map. A key in `special` is refused
  // with its message (a known mistake, such as a password in the manifest).
  Fields fields(const Value& v, Keys allowed,
                const std::map<std::string_view, std::string>& special = {}) const;
  static std::optional<Value> find(const Fields& keys, std::string_view name);
  // Elements of a list; null (an empty value) counts as an empty list.
  std::vector<Value> items(const Value& v) const;

  // ---- scalars
  // The interpolated text of a scalar, valid UTF-8. `kind` names the expected type for messages.
  std::string text(const Value& v, std::string_view kind = "a string") const;
  // `"value"`, plus `(from "${X}")` when interpolation changed it.
  static std::string shown(const Value& v, const std::string& value);
  Duration duration(const Value& v) const;
  // A duration in `range`; `min_note` as for range_message.
  Duration bounded_duration(const Value& v, DurationRange range,
                            std::string_view min_note = "") const;
  // 0 (off), or a duration in `range`.
  Duration duration_or_off(const Value& v, DurationRange range) const;
  // A decimal integer in [min, max]; no sign other than '-', no leading zeros.
  long long integer(const Value& v, long long min, long long max) const;
  double number(const Value& v) const;
  bool boolean(const Value& v) const;
  // One of an enum's manifest spellings (enums.hpp).
  template <typename E, std::size_t N>
  E choice(const Value& v, const std::array<std::pair<E, std::string_view>, N>& names) const;
  // Refuses control characters (and 0x7f) in `s` with `message`.
  void no_control_characters(
      const Value& v, const std::string& s,
      const std::string& message = "must not contain control characters") const;

 private:
  std::string source_;
  const EnvLookup& env_;
};

template <typename E, std::size_t N>
E Reader::choice(const Value& v, const std::array<std::pair<E, std::string_view>, N>& names) const {
  std::string s = text(v);
  if (auto e = enum_value(names, s)) return *e;
  std::array<std::string_view, N> allowed;
  for (std::size_t i = 0; i < N; ++i) allowed[i] = names[i].second;
  std::string message = "invalid value " + shown(v, s) + " (allowed: " + join_names(allowed) + ")";
  if (auto close = closest_match(s, allowed)) message += "; did you mean " + quoted(*close) + "?";
  fail(v, message);
}

}  // namespace registrar::config
