// ConfigError: the one exception type for every manifest problem, and the exit code for it.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

#include "config/manifest.hpp"
#include "config/utf8.hpp"

namespace registrar::config {

// Exit status of the daemon (and of `grpc-registrar check`) when the manifest is invalid;
// EX_CONFIG from sysexits.h.
inline constexpr int kExitConfig = 78;

// One line per error: "FILE:LINE:COLUMN: FIELD: message". The position is left out when unknown
// (line 0) and the field when empty, e.g. "FILE: cannot read: No such file or directory".
// Control characters are escaped (newline as \n, others as \x1B), so the result is always a
// single line, and so is every byte that is not part of well-formed UTF-8 (0xE9 as \xE9), so
// the result is always valid UTF-8.
inline std::string format_config_error(const Location& where, const std::string& field,
                                       const std::string& message) {
  std::string out = where.file;
  if (where.line > 0) {
    out += ':' + std::to_string(where.line) + ':' + std::to_string(where.column);
  }
  out += ": ";
  if (!field.empty()) out += field + ": ";
  out += message;
  // Values quoted in messages may hold control characters or invalid UTF-8 (e.g. from ${VAR});
  // keep one line of valid text.
  std::string line;
  auto escape = [&line](unsigned char u) {
    const char* hex = "0123456789ABCDEF";
    line += "\\x";
    line += hex[u >> 4];
    line += hex[u & 0xf];
  };
  std::size_t i = 0;
  while (i < out.size()) {
    char c = out[i];
    auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      line += "\\n";
    } else if (c == '\t') {
      line += "\\t";
    } else if (c == '\r') {
      line += "\\r";
    } else if (u < 0x20 || u == 0x7f) {
      escape(u);
    } else if (u >= 0x80) {
      if (std::size_t len = utf8_sequence_length(out, i); len > 0) {
        line.append(out, i, len);
        i += len;
        continue;
      }
      escape(u);
    } else {
      line += c;
    }
    ++i;
  }
  return line;
}

struct ConfigError : std::runtime_error {
  ConfigError(Location where_, std::string field_, const std::string& message)
      : std::runtime_error(format_config_error(where_, field_, message)),
        where(std::move(where_)),
        field(std::move(field_)) {}

  Location where;     // file, 1-based line and column (line 0 when there is no position)
  std::string field;  // dotted path with indices, e.g. "services[1].port"; "" for file-level errors
};

}  // namespace registrar::config
