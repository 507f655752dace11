#include "runtime/redact.hpp"

#include <algorithm>
#include <vector>

namespace registrar::runtime {

namespace {

char fold(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// match[i]: how many characters from text[i] on equal the start of `secret`, ignoring ASCII
// case. The Z-algorithm over secret + text, with the secret's length capping each match, keeps
// this linear even for hostile inputs ("aaaa..." against a token of "a"s).
std::vector<std::size_t> prefix_matches(std::string_view text, std::string_view secret) {
  std::string s;
  s.reserve(secret.size() + text.size());
  for (char c : secret) s += fold(c);
  for (char c : text) s += fold(c);
  const std::size_t n = s.size();
  const std::size_t m = secret.size();
  std::vector<std::size_t> z(n, 0);
  for (std::size_t i = 1, l = 0, r = 0; i < n; ++i) {
    if (i < r) z[i] = std::min(r - i, z[i - l]);
    while (i + z[i] < n && z[i] < m && s[z[i]] == s[i + z[i]]) ++z[i];
    if (i + z[i] > r) {
      l = i;
      r = i + z[i];
    }
  }
  std::vector<std::size_t> match(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) match[i] = std::min(z[m + i], text.size() - i);
  return match;
}

}  // namespace

std::string redact(std::string_view text, std::string_view secret, std::string_view marker) {
  if (secret.empty()) return std::string(text);
  const std::size_t needed = std::min(secret.size(), kMinRedactedPrefix);
  const std::vector<std::size_t> match = prefix_matches(text, secret);
  // Every character inside some match is covered, so that a secret starting inside the prefix
  // matched just before it ("aaaaaaab" in "aaaaaaaaab") is not skipped over. Overlapping
  // matches make one run and one marker; matches that only touch keep a marker each.
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (match[i] < needed) {
      out += text[i++];
      continue;
    }
    std::size_t end = i + match[i];
    for (std::size_t j = i + 1; j < end; ++j)
      if (match[j] >= needed) end = std::max(end, j + match[j]);
    out += marker;
    i = end;
  }
  return out;
}

}  // namespace registrar::runtime
