#include "cli/flag_duration.hpp"

namespace registrar::cli {

std::optional<config::Duration> flag_duration(const std::string& flag, const std::string& text,
                                              std::string& error) {
  std::string why;
  const auto d = config::parse_duration(text, why);
  if (d && d->count() > 0) return d;
  error = flag + ": invalid duration \"" + text + "\"" +
          (why.empty() ? " (must be above 0)" : ": " + why);
  return std::nullopt;
}

}  // namespace registrar::cli
