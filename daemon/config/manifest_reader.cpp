#include "config/manifest_reader.hpp"

#include <charconv>
#include <climits>
#include <cmath>

#include "config/duration.hpp"
#include "config/utf8.hpp"

namespace registrar::config {
namespace {

std::string join_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

}  // namespace

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return quoted(node.Scalar());
    default:
      return "an empty value";
  }
}

std::string range_message(DurationRange range, Duration got, std::string_view min_note) {
  std::string got_text = ", got " + format_duration(got);
  if (range.min.count() == 0) return "must be at most " + format_duration(range.max) + got_text;
  std::string min = format_duration(range.min);
  if (!min_note.empty()) min += " (" + std::string(min_note) + ")";
  return "must be between " + min + " and " + format_duration(range.max) + got_text;
}

// ---- errors

Location Reader::location(const YAML::Mark& mark) const {
  if (mark.is_null()) return Location{source_, 0, 0};
  return Location{source_, mark.line + 1, mark.column + 1};
}

void Reader::fail(const YAML::Mark& mark, const std::string& field,
                  const std::string& message) const {
  throw ConfigError(location(mark), field, message);
}

void Reader::fail(const Value& v, const std::string& message) const {
  fail(v.mark, v.path, message);
}

void Reader::missing(const Value& map, std::string_view key) const {
  fail(map, "missing required key " + quoted(key));
}

// ---- maps and lists

Fields Reader::fields(const Value& v, Keys allowed,
                      const std::map<std::string_view, std::string>& special) const {
  Fields out;
  if (v.node.IsNull()) return out;
  if (!v.node.IsMap()) fail(v, "expected a map, got " + describe(v.node));
  std::map<std::string, int> seen;  // key -> line
  for (auto it = v.node.begin(); it != v.node.end(); ++it) {
    // Copies: yaml-cpp's iterator hands out a temporary pair.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) fail(key.Mark(), v.path, "keys must be strings, got " + describe(key));
    const std::string& name = key.Scalar();
    std::string path = join_path(v.path, name);
    if (auto s = special.find(name); s != special.end()) fail(key.Mark(), path, s->second);
    bool known = false;
    for (std::string_view a : allowed) known = known || a == name;
    if (!known) {
      std::string message = "unknown key " + quoted(name);
      if (auto close = closest_match(name, allowed)) {
        message += "; did you mean " + quoted(*close) + "?";
      } else {
        message += " (allowed: " + join_names(allowed) + ")";
      }
      fail(key.Mark(), path, message);
    }
    if (auto [first, inserted] = seen.emplace(name, key.Mark().line + 1); !inserted) {
      fail(key.Mark(), path,
           "duplicate key " + quoted(name) + " (first set at line " +
               std::to_string(first->second) + ")");
    }
    YAML::Mark mark = value.IsNull() || value.Mark().is_null() ? key.Mark() : value.Mark();
    out.emplace_back(name, Value{value, path, mark});
  }
  return out;
}

std::optional<Value> Reader::find(const Fields& keys, std::string_view name) {
  for (const auto& [k, v] : keys) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::vector<Value> Reader::items(const Value& v) const {
  std::vector<Value> out;
  if (v.node.IsNull()) return out;
  if (!v.node.IsSequence()) fail(v, "expected a list, got " + describe(v.node));
  std::size_t i = 0;
  for (const YAML::Node& item : v.node) {
    YAML::Mark mark = item.Mark().is_null() ? v.mark : item.Mark();
    out.push_back(Value{item, v.path + "[" + std::to_string(i++) + "]", mark});
  }
  return out;
}

// ---- scalars

std::string Reader::text(const Value& v, std::string_view kind) const {
  if (!v.node.IsScalar()) fail(v, "expected " + std::string(kind) + ", got " + describe(v.node));
  std::string value;
  try {
    value = interpolate(v.node.Scalar(), env_);
  } catch (const InterpolationError& e) {
    fail(v, e.what());
  }
  // Strings end up in JSON (etcd values), which must be UTF-8. The value itself is left out of
  // the message: a reference shows where it came from, and the position points at it.
  if (!is_valid_utf8(value)) {
    std::string message = "value is not valid UTF-8";
    if (v.node.Scalar() != value && is_valid_utf8(v.node.Scalar())) {
      message += " (from " + quoted(v.node.Scalar()) + ")";
    }
    fail(v, message);
  }
  return value;
}

std::string Reader::shown(const Value& v, const std::string& value) {
  std::string out = quoted(value);
  if (v.node.Scalar() != value) out += " (from " + quoted(v.node.Scalar()) + ")";
  return out;
}

Duration Reader::duration(const Value& v) const {
  std::string s = text(v, "a duration");
  std::string why;
  std::optional<Duration> d = parse_duration(s, why);
  if (!d) fail(v, "invalid duration " + shown(v, s) + ": " + why);
  return *d;
}

Duration Reader::bounded_duration(const Value& v, DurationRange range,
                                  std::string_view min_note) const {
  Duration d = duration(v);
  if (d < range.min || d > range.max) fail(v, range_message(range, d, min_note));
  return d;
}

Duration Reader::duration_or_off(const Value& v, DurationRange range) const {
  Duration d = duration(v);
  if (d.count() != 0 && (d < range.min || d > range.max)) {
    fail(v, "must be 0 (off) or between " + format_duration(range.min) + " and " +
                format_duration(range.max) + ", got " + format_duration(d));
  }
  return d;
}

long long Reader::integer(const Value& v, long long min, long long max) const {
  std::string s = text(v, "an integer");
  std::string_view digits = s;
  bool negative = digits.starts_with('-');
  if (negative) digits.remove_prefix(1);
  bool ok = !digits.empty() && (digits.size() == 1 || digits.front() != '0');
  for (char c : digits) ok = ok && c >= '0' && c <= '9';
  if (!ok) fail(v, "expected an integer, got " + shown(v, s));
  long long value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  bool in_range = ec == std::errc{} && ptr == s.data() + s.size() && value >= min && value <= max;
  if (!in_range) {
    if (max == INT_MAX && (negative || (ec == std::errc{} && value < min))) {
      fail(v, "must be at least " + std::to_string(min) + ", got " + s);
    }
    fail(v, s + " is out of range (" + std::to_string(min) + "-" + std::to_string(max) + ")");
  }
  return value;
}

double Reader::number(const Value& v) const {
  std::string s = text(v, "a number");
  double value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size() || !std::isfinite(value)) {
    fail(v, "expected a number, got " + shown(v, s));
  }
  return value;
}

bool Reader::boolean(const Value& v) const {
  std::string s = text(v, "true or false");
  if (s == "true") return true;
  if (s == "false") return false;
  fail(v, "expected true or false, got " + shown(v, s));
}

void Reader::no_control_characters(const Value& v, const std::string& s,
                                   const std::string& message) const {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) fail(v, message);
  }
}

}  // namespace registrar::config
