#include "registry/common/request_meter.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "registry/common/bind_weak.hpp"
#include "runtime/clock.hpp"
#include "unit/registry/recording_observer.hpp"

using namespace registrar;
using registry::common::bind_weak;
using registry::common::RequestMeter;
using namespace std::chrono_literals;

TEST_CASE("request meter: each request is reported with its latency on the injected clock") {
  test::RecordingObserver observer;
  runtime::ManualClock clock;
  RequestMeter meter(observer, clock);
  const auto sent = meter.sent();
  clock.advance(25ms);
  CHECK(meter.request("register", true, sent) == 25ms);
  meter.request("deregister", false, sent);
  meter.stream_failed("keepalive_stream");
  meter.keepalive_since(sent);
  meter.regrant();
  CHECK(observer.kinds() ==
        std::vector<std::string>{"register", "deregister!", "keepalive_stream!"});
  CHECK(observer.requests[0].latency == 25ms);
  CHECK(observer.requests[2].latency == 0ns);
  CHECK(observer.keepalives == std::vector<std::chrono::nanoseconds>{25ms});
  CHECK(observer.regrants == 1);
}

namespace {

struct Backend : std::enable_shared_from_this<Backend> {
  std::string seen;
  void on_done(const std::string& id, int status) { seen = id + ":" + std::to_string(status); }
};

}  // namespace

TEST_CASE("bind_weak: the bound member runs while its object lives, and never after") {
  auto backend = std::make_shared<Backend>();
  auto handler = bind_weak(backend.get(), &Backend::on_done, std::string("a"));
  handler(200);
  CHECK(backend->seen == "a:200");
  std::weak_ptr<Backend> gone = backend;
  backend.reset();
  handler(404);  // a completion that comes back after the backend was destroyed
  CHECK(gone.expired());
}
