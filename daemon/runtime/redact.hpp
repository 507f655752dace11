// Redaction of a secret (an ACL token, a password) from a text that came from outside, such as a
// registry's error answer, before that text reaches a log line or /v1/services. Redact first and
// cut afterwards: a cut made first could leave the start of a secret that a later search for
// the whole secret no longer finds.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace registrar::runtime {

// A run of at least this many characters that matches the start of a secret is redacted, so that
// an echo cut short (or a secret split across two lines) still shows nothing usable. Shorter
// runs are common in ordinary text ("abc") and say almost nothing of a random token.
inline constexpr std::size_t kMinRedactedPrefix = 6;

// `text` with every run that equals the secret, or a prefix of it of at least
// kMinRedactedPrefix characters (all of it when the secret is shorter), ignoring ASCII case,
// replaced by `marker`. Linear in text.size() + secret.size(). An empty secret changes nothing.
std::string redact(std::string_view text, std::string_view secret,
                   std::string_view marker = "<redacted>");

}  // namespace registrar::runtime
