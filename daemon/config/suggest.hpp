// "Did you mean ...?" for misspelt keys and enum values.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace registrar::config {

// Edit distance (insertions, deletions, substitutions, adjacent transpositions), ASCII
// case-insensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is close enough to be a likely typo: at most 1 edit
// (ignoring case) when either word has up to 4 characters, else at most 2. nullopt otherwise,
// and when `word` is exactly one of the candidates.
std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string_view> candidates);

// "a, b, c", for "allowed: ..." messages.
std::string join_names(std::span<const std::string_view> names);

}  // namespace registrar::config
