// Pieces of the Prometheus text format (0.0.4), exposed for tests.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace registrar::metrics {

// A sample value: integers without a fraction ("3"), others in shortest round-trip form
// ("0.25"), and "+Inf", "-Inf", "NaN".
std::string format_value(double v);
// A label value inside double quotes: backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view v);
// HELP text: backslash and newline escaped.
std::string escape_help(std::string_view v);
// `{a="x",b="y"}`, or "" without labels. `extra` adds one more pair at the end (e.g. le).
std::string format_labels(const std::vector<std::string>& names,
                          const std::vector<std::string>& values, std::string_view extra_name = {},
                          std::string_view extra_value = {});

bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

}  // namespace registrar::metrics
