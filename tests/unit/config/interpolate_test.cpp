#include "config/interpolate.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "test_env.hpp"

using registrar::config::escape_interpolation;
using registrar::config::interpolate;
using registrar::config::InterpolationError;
using registrar::config::process_env;
using registrar::config::test::env_of;

namespace {

const auto kEnv = env_of({{"HOST", "10.0.0.7"}, {"PORT", "50051"}, {"EMPTY", ""}, {"D", "$x"}});

std::string error_of(const std::string& text) {
  try {
    interpolate(text, kEnv);
  } catch (const InterpolationError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("interpolation expands set variables, defaults and $$") {
  struct Row {
    const char* in;
    const char* out;
  };
  const std::vector<Row> rows{
      {"plain", "plain"},
      {"", ""},
      {"${HOST}", "10.0.0.7"},
      {"${HOST}:${PORT}", "10.0.0.7:50051"},
      {"http://${HOST}:2379", "http://10.0.0.7:2379"},
      {"${EMPTY}", ""},                    // set but empty: empty
      {"${UNSET:-fallback}", "fallback"},  // unset: the default
      {"${EMPTY:-fallback}", "fallback"},  // empty: the default too, as in sh
      {"${HOST:-fallback}", "10.0.0.7"},   // set: the value
      {"${UNSET:-}", ""},                  // empty default
      {"${UNSET:-a:b-c}", "a:b-c"},        // default is literal text
      {"${UNSET:-$$5}", "$5"},             // $$ in a default
      {"$$", "$"},
      {"a$$b", "a$b"},
      {"$${HOST}", "${HOST}"},  // escaped: not a reference
      {"$$$$", "$$"},
      {"${D}", "$x"},  // values are not expanded again
      {"x${HOST}y${UNSET:-z}", "x10.0.0.7yz"},
      {"{}", "{}"},  // braces without '$' are plain text
  };
  for (const Row& row : rows) {
    INFO(row.in);
    CHECK(interpolate(row.in, kEnv) == row.out);
  }
}

TEST_CASE("interpolation refuses malformed references and unset variables") {
  struct Row {
    const char* in;
    const char* error;
  };
  const std::vector<Row> rows{
      {"${UNSET}", "environment variable UNSET is not set (use ${UNSET:-default} for a fallback)"},
      {"${A:-${B}}", "nested braces in \"${A:-${B}\" are not supported"},
      {"${A:-{x}}", "nested braces in \"${A:-{x}\" are not supported"},
      {"${${A}}", "nested braces in \"${${A}\" are not supported"},
      {"${A:-$B}",
       "nested references in \"${A:-$B}\" are not supported (write $$ for a literal $)"},
      {"${HOST", "unterminated \"${HOST\" (missing '}')"},
      {"${}", "empty variable name in \"${}\""},
      {"${:-x}", "empty variable name in \"${:-x}\""},
      {"${1A}",
       "invalid variable reference \"${1A}\" (use ${VAR} or ${VAR:-default}; VAR is "
       "letters, digits and '_')"},
      {"${A-x}",
       "invalid variable reference \"${A-x}\" (use ${VAR} or ${VAR:-default}; VAR is "
       "letters, digits and '_')"},
      {"$HOST", "a '$' must start ${VAR} or ${VAR:-default} (write $$ for a literal $)"},
      {"cost: 5$", "a '$' must start ${VAR} or ${VAR:-default} (write $$ for a literal $)"},
  };
  for (const Row& row : rows) {
    INFO(row.in);
    CHECK(error_of(row.in) == row.error);
  }
}

TEST_CASE("the environment lookup is only asked for referenced names") {
  std::vector<std::string> asked;
  registrar::config::EnvLookup spy = [&](const std::string& name) -> std::optional<std::string> {
    asked.push_back(name);
    return "v";
  };
  CHECK(interpolate("$${NOT} ${ONE} ${TWO:-d}", spy) == "${NOT} v v");
  CHECK(asked == std::vector<std::string>{"ONE", "TWO"});
}

TEST_CASE("escape_interpolation is undone by interpolate") {
  for (const char* s : {"", "plain", "$", "$$", "${HOST}", "a$b${c:-d}$"}) {
    INFO(s);
    CHECK(interpolate(escape_interpolation(s), kEnv) == s);
  }
  CHECK(escape_interpolation("a$b") == "a$$b");
}

TEST_CASE("process_env reads the real environment") {
  // PATH is set in every environment the tests run in; this name is not.
  auto env = process_env();
  REQUIRE(env("PATH").has_value());
  CHECK_FALSE(env("PATH")->empty());
  CHECK_FALSE(env("GRPC_REGISTRAR_TEST_SURELY_UNSET_29f1").has_value());
}
