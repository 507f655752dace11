#include "metrics/metrics.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "metrics/daemon_metrics.hpp"
#include "metrics/exposition.hpp"

using namespace registrar::metrics;

TEST_CASE("metrics: sample values are formatted as Prometheus expects", "[metrics]") {
  CHECK(format_value(0) == "0");
  CHECK(format_value(3) == "3");
  CHECK(format_value(-2) == "-2");
  CHECK(format_value(0.25) == "0.25");
  CHECK(format_value(1e-3) == "0.001");
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(format_value(std::nan("")) == "NaN");
}

TEST_CASE("metrics: label values and help text are escaped", "[metrics]") {
  CHECK(escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  CHECK(escape_help("line1\nback\\slash \"quotes\" stay") ==
        "line1\\nback\\\\slash \"quotes\" stay");
  CHECK(format_labels({}, {}) == "");
  CHECK(format_labels({"a", "b"}, {"x", "y"}) == "{a=\"x\",b=\"y\"}");
  CHECK(format_labels({"a"}, {"x"}, "le", "0.5") == "{a=\"x\",le=\"0.5\"}");
  CHECK(format_labels({}, {}, "le", "+Inf") == "{le=\"+Inf\"}");
}

TEST_CASE("metrics: names are validated", "[metrics]") {
  CHECK(valid_metric_name("grpc_registrar_up"));
  CHECK(valid_metric_name("a:b_c"));
  CHECK_FALSE(valid_metric_name("1abc"));
  CHECK_FALSE(valid_metric_name("a-b"));
  CHECK_FALSE(valid_metric_name(""));
  CHECK(valid_label_name("service"));
  CHECK_FALSE(valid_label_name("__reserved"));
  CHECK_FALSE(valid_label_name("a:b"));

  Registry r;
  CHECK_THROWS_AS(r.counter("bad-name", "x"), std::invalid_argument);
  CHECK_THROWS_AS(r.histogram("h", "x", {1}, {"le"}), std::invalid_argument);
  r.counter("c_total", "x");
  CHECK_THROWS_AS(r.gauge("c_total", "again"), std::invalid_argument);
  auto& labelled = r.counter("l_total", "x", {"a"});
  CHECK_THROWS_AS(labelled.with({}), std::invalid_argument);
  CHECK_THROWS_AS(labelled.with({"1", "2"}), std::invalid_argument);
}

TEST_CASE("metrics: counters and gauges in the exposition, in registration order", "[metrics]") {
  Registry r;
  auto& c = r.counter("requests_total", "Requests, by kind", {"kind"});
  auto& g = r.gauge("up", "1 when up");
  c.with({"txn"}).inc();
  c.with({"txn"}).inc(2);
  c.with({"grant"}).inc();
  g.with().set(1);
  CHECK(c.with({"txn"}).value() == 3);
  CHECK(r.expose() ==
        "# HELP requests_total Requests, by kind\n"
        "# TYPE requests_total counter\n"
        "requests_total{kind=\"grant\"} 1\n"
        "requests_total{kind=\"txn\"} 3\n"
        "# HELP up 1 when up\n"
        "# TYPE up gauge\n"
        "up 1\n");
}

TEST_CASE("metrics: a family with no series shows only its header", "[metrics]") {
  Registry r;
  r.counter("none_total", "never touched", {"x"});
  CHECK(r.expose() == "# HELP none_total never touched\n# TYPE none_total counter\n");
}

TEST_CASE("metrics: histogram buckets are cumulative, with +Inf, _sum and _count", "[metrics]") {
  Registry r;
  auto& h = r.histogram("latency_seconds", "Latency", {0.1, 0.01, 1});  // unsorted on purpose
  h.with().observe(0.005);
  h.with().observe(0.01);  // on a bound: counts in that bucket (le is inclusive)
  h.with().observe(0.5);
  h.with().observe(3);
  const auto s = h.with().snapshot();
  CHECK(s.upper_bounds == std::vector<double>{0.01, 0.1, 1});
  CHECK(s.cumulative == std::vector<std::uint64_t>{2, 2, 3, 4});
  CHECK(s.count == 4);
  CHECK(s.sum == Approx(3.515));
  CHECK(r.expose() ==
        "# HELP latency_seconds Latency\n"
        "# TYPE latency_seconds histogram\n"
        "latency_seconds_bucket{le=\"0.01\"} 2\n"
        "latency_seconds_bucket{le=\"0.1\"} 2\n"
        "latency_seconds_bucket{le=\"1\"} 3\n"
        "latency_seconds_bucket{le=\"+Inf\"} 4\n"
        "latency_seconds_sum 3.515\n"
        "latency_seconds_count 4\n");
}

TEST_CASE("metrics: the daemon's metrics and the registry observer", "[metrics]") {
  DaemonMetrics m("1.2.3");
  const std::string before = m.registry.expose();
  CHECK(before.find("grpc_registrar_build_info{version=\"1.2.3\"} 1\n") != std::string::npos);
  CHECK(before.find("grpc_registrar_lease_regrants_total 0\n") != std::string::npos);
  CHECK(before.find("grpc_registrar_ready 0\n") != std::string::npos);
  CHECK(before.find("grpc_registrar_keepalive_latency_seconds_count 0\n") != std::string::npos);

  MetricsRegistryObserver observer(m);
  RegistryObserver& as_base = observer;
  as_base.request("txn", true, std::chrono::milliseconds(3));
  as_base.request("txn", false, std::chrono::milliseconds(30));
  as_base.request("grant", true, std::chrono::microseconds(500));
  as_base.lease_regrant();
  as_base.keepalive_latency(std::chrono::milliseconds(2));

  const std::string after = m.registry.expose();
  CHECK(after.find("grpc_registrar_registry_requests_total{kind=\"txn\"} 2\n") !=
        std::string::npos);
  CHECK(after.find("grpc_registrar_registry_errors_total{kind=\"txn\"} 1\n") != std::string::npos);
  CHECK(after.find("grpc_registrar_registry_errors_total{kind=\"grant\"}") == std::string::npos);
  CHECK(after.find("grpc_registrar_registry_request_duration_seconds_bucket{kind=\"grant\",le="
                   "\"0.001\"} 1\n") != std::string::npos);
  CHECK(after.find("grpc_registrar_lease_regrants_total 1\n") != std::string::npos);
  CHECK(after.find("grpc_registrar_keepalive_latency_seconds_bucket{le=\"0.0025\"} 1\n") !=
        std::string::npos);

  // The default observer accepts every call and does nothing.
  null_registry_observer().request("txn", false, std::chrono::seconds(1));
  null_registry_observer().lease_regrant();
  null_registry_observer().keepalive_latency(std::chrono::seconds(1));
}

TEST_CASE("metrics: every line of the exposition is a comment or a well-formed sample",
          "[metrics]") {
  DaemonMetrics m("0.1.0");
  m.probe_results.with({"svc \"quoted\"\n", "serving"}).inc();
  m.registry_request_duration.with({"txn"}).observe(0.2);
  const std::string text = m.registry.expose();
  std::size_t pos = 0;
  int samples = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    REQUIRE(nl != std::string::npos);  // every line ends with '\n'
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) continue;
    INFO(line);
    // name{labels} value — the value is the text after the last space
    const auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    const std::string name = line.substr(0, std::min(line.find('{'), space));
    CHECK(valid_metric_name(name));
    const std::string value = line.substr(space + 1);
    CHECK_FALSE(value.empty());
    ++samples;
  }
  CHECK(samples > 10);
}
