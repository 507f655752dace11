// `--log-format json` for the one-off commands: a stderr line as the daemon's JSON log line.
#include "cli/json_stderr.hpp"

#include <catch2/catch.hpp>

using registrar::cli::json_error_line;

TEST_CASE("json stderr: an error line and a warning line as JSON objects", "[cli]") {
  CHECK(json_error_line("grpc-registrar check: m.yaml:3:9: services[0].port: 70000 is out of "
                        "range (1-65535)",
                        "2026-12-06T15:04:05.123Z") ==
        R"j({"ts":"2026-12-06T15:04:05.123Z","level":"error","msg":"grpc-registrar check: )j"
        R"j(m.yaml:3:9: services[0].port: 70000 is out of range (1-65535)"})j"
        "\n");
  CHECK(json_error_line("grpc-registrar register: warning: --token: a secret", "") ==
        R"j({"level":"warn","msg":"grpc-registrar register: warning: --token: a secret"})j"
        "\n");
}
