// runtime::redact: the whole secret, its case variants and any prefix of at least
// kMinRedactedPrefix characters are replaced; ordinary text is left alone; hostile inputs stay
// linear.
#include "runtime/redact.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "support/secrets.hpp"

using registrar::runtime::kMinRedactedPrefix;
using registrar::runtime::redact;
using registrar::test::kKnownToken;

namespace {
bool holds(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}
std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

TEST_CASE("redact: every whole occurrence of the secret", "[runtime][redact]") {
  const std::string token = kKnownToken;
  CHECK(redact("denied for " + token + " and " + token, token) ==
        "denied for <redacted> and <redacted>");
  CHECK(redact("nothing here", token) == "nothing here");
  CHECK(redact("text", "") == "text");
  CHECK(redact(token + token, token) == "<redacted><redacted>");
}

TEST_CASE("redact: letter case does not hide a secret", "[runtime][redact]") {
  const std::string token = kKnownToken;
  const std::string out = redact("token " + upper(token) + " refused", token);
  CHECK(out == "token <redacted> refused");
  CHECK_FALSE(holds(out, upper(token).substr(0, kMinRedactedPrefix)));
}

TEST_CASE("redact: a prefix of the secret, as an echo cut short leaves it", "[runtime][redact]") {
  const std::string token = kKnownToken;
  // The first 20 characters, then the text goes on: what a registry cutting its echo shows.
  CHECK(redact("ACL not found: " + token.substr(0, 20) + "...", token) ==
        "ACL not found: <redacted>...");
  // Exactly the minimum, and one short of it (too common to be a secret's trace).
  CHECK(redact("x" + token.substr(0, kMinRedactedPrefix), token) == "x<redacted>");
  const std::string short_run = token.substr(0, kMinRedactedPrefix - 1);
  CHECK(redact("x" + short_run + "y", token) == "x" + short_run + "y");
  // A secret shorter than the minimum is redacted whole, never in part.
  CHECK(redact("pw abc abd", "abc") == "pw <redacted> abd");
}

TEST_CASE("redact: overlapping starts and hostile repetition stay exact and fast",
          "[runtime][redact]") {
  // The secret starts inside a prefix of itself: the prefix at 0 ("aaaaaaa") must not hide the
  // whole secret at 2; overlapping matches make one marker.
  CHECK(redact("aaaaaaaaab", "aaaaaaab") == "<redacted>");
  CHECK(redact("xyxyxyz0!", "xyxyz0") == "xy<redacted>!");
  const std::string secret(65536, 'a');
  const std::string text(1 << 20, 'a');  // quadratic work would take minutes
  CHECK(redact(text, secret) == "<redacted>");
  CHECK(redact(text + "b", "ab") == text.substr(0, text.size() - 1) + "<redacted>");
}
