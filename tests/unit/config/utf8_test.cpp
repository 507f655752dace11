// The strict UTF-8 validator, and how error lines escape what it refuses.
#include "config/utf8.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "config/error.hpp"

using registrar::config::format_config_error;
using registrar::config::is_valid_utf8;
using registrar::config::Location;
using registrar::config::utf8_sequence_length;

static_assert(is_valid_utf8(""));
static_assert(is_valid_utf8("caf\xc3\xa9"));
static_assert(!is_valid_utf8("caf\xe9"));

TEST_CASE("well-formed UTF-8 is valid") {
  const std::vector<std::string> valid{
      "",
      "plain ascii",
      std::string("nul\0inside", 10),
      "\x7f",
      "\xc2\x80",          // U+0080, smallest 2-byte
      "\xc3\xa9",          // U+00E9
      "\xdf\xbf",          // U+07FF, largest 2-byte
      "\xe0\xa0\x80",      // U+0800, smallest 3-byte
      "\xe2\x82\xac",      // U+20AC
      "\xed\x9f\xbf",      // U+D7FF, just below the surrogates
      "\xee\x80\x80",      // U+E000, just above them
      "\xef\xbf\xbf",      // U+FFFF
      "\xf0\x90\x80\x80",  // U+10000, smallest 4-byte
      "\xf0\x9f\x98\x80",  // U+1F600
      "\xf3\xbf\xbf\xbf",  // U+FFFFF
      "\xf4\x8f\xbf\xbf",  // U+10FFFF, the largest code point
      "a\xc3\xa9z\xe2\x82\xac",
  };
  for (const std::string& s : valid) {
    INFO(format_config_error(Location{}, "", s));
    CHECK(is_valid_utf8(s));
  }
}

TEST_CASE("ill-formed UTF-8 is refused") {
  const std::vector<std::string> invalid{
      "\x80",  // lone continuation bytes
      "\xbf",
      "a\x80z",
      "caf\xe9",                   // Latin-1
      "\xc0\x80",                  // overlong U+0000
      "\xc0\xaf",                  // overlong '/'
      "\xc1\xbf",                  // overlong U+007F
      "\xe0\x80\x80",              // overlong 3-byte
      "\xe0\x9f\xbf",              // overlong U+07FF
      "\xf0\x80\x80\x80",          // overlong 4-byte
      "\xf0\x8f\xbf\xbf",          // overlong U+FFFF
      "\xed\xa0\x80",              // U+D800, a surrogate
      "\xed\xbf\xbf",              // U+DFFF
      "\xed\xa0\xbd\xed\xb8\x80",  // a surrogate pair (CESU-8)
      "\xf4\x90\x80\x80",          // U+110000, above the last code point
      "\xf5\x80\x80\x80",
      "\xf7\xbf\xbf\xbf",
      "\xf8\x88\x80\x80\x80",  // old 5-byte form
      "\xfc\x84\x80\x80\x80\x80",
      "\xfe",
      "\xff",
      "\xc3",  // truncated sequences
      "\xe2\x82",
      "\xf0\x9f\x98",
      "ok\xc3",
      "\xc3(",  // bad continuation bytes
      "\xe2(\xa1",
      "\xe2\x82(",
      "\xf0\x9f(\x80",
      "\xf0\x9f\x98(",
      "\xc3\xa9\xc3",  // valid, then truncated
  };
  for (const std::string& s : invalid) {
    INFO(format_config_error(Location{}, "", s));
    CHECK_FALSE(is_valid_utf8(s));
  }
}

TEST_CASE("utf8_sequence_length measures one sequence") {
  const std::string s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xe9";
  CHECK(utf8_sequence_length(s, 0) == 1);
  CHECK(utf8_sequence_length(s, 1) == 2);
  CHECK(utf8_sequence_length(s, 2) == 0);  // in the middle of a sequence
  CHECK(utf8_sequence_length(s, 3) == 3);
  CHECK(utf8_sequence_length(s, 6) == 4);
  CHECK(utf8_sequence_length(s, 10) == 0);  // a bare 0xE9
  CHECK(utf8_sequence_length(s, 11) == 0);  // past the end
  CHECK(utf8_sequence_length(s, 100) == 0);
}

TEST_CASE("format_config_error escapes invalid bytes and keeps valid UTF-8") {
  const Location at{"m.yaml", 3, 7};
  CHECK(format_config_error(at, "f", "caf\xc3\xa9 \xe2\x82\xac") ==
        "m.yaml:3:7: f: caf\xc3\xa9 \xe2\x82\xac");
  CHECK(format_config_error(at, "f", "caf\xe9") == R"(m.yaml:3:7: f: caf\xE9)");
  CHECK(format_config_error(at, "f", "\xed\xa0\x80") == R"(m.yaml:3:7: f: \xED\xA0\x80)");
  CHECK(format_config_error(at, "f", "\xf4\x90\x80\x80") == R"(m.yaml:3:7: f: \xF4\x90\x80\x80)");
  CHECK(format_config_error(at, "f", "\xc0\xaf") == R"(m.yaml:3:7: f: \xC0\xAF)");
  CHECK(format_config_error(at, "f", "ok\xc3") == R"(m.yaml:3:7: f: ok\xC3)");
  // a truncated sequence followed by ASCII: only the bad byte is escaped
  CHECK(format_config_error(at, "f", "\xe2\x82z") == R"(m.yaml:3:7: f: \xE2\x82z)");
  CHECK(format_config_error(at, "f", "a\nb\tc\rd\x1b") == R"(m.yaml:3:7: f: a\nb\tc\rd\x1B)");
  // the field and the file name are escaped as well
  CHECK(format_config_error(Location{"m\xff.yaml", 1, 1}, "meta.caf\xe9", "x") ==
        R"(m\xFF.yaml:1:1: meta.caf\xE9: x)");
}

TEST_CASE("format_config_error always gives one line of valid UTF-8") {
  for (int b = 0; b < 256; ++b) {
    std::string bytes = "x";
    bytes += static_cast<char>(b);
    bytes += "\xc3";
    std::string line = format_config_error(Location{"m.yaml", 1, 1}, "f", bytes);
    INFO(line);
    CHECK(is_valid_utf8(line));
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.find('\r') == std::string::npos);
  }
}
