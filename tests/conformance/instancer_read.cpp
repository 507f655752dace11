#include "conformance/instancer_read.hpp"

#include <boost/asio/io_context.hpp>
#include <memory>
#include <vector>

#include "discovery/factory.hpp"
#include "runtime/clock.hpp"
#include "runtime/timer.hpp"

namespace registrar::conformance {

namespace {

// A read that did not complete may still have a call in flight, which completes on gRPC's
// threads into its io_context: such readers are kept, never destroyed, until the process ends.
struct Unfinished {
  std::unique_ptr<boost::asio::io_context> ioc;
  std::shared_ptr<discovery::Instancer> instancer;
};
std::vector<Unfinished>& unfinished() {
  static auto* kept = new std::vector<Unfinished>();
  return *kept;
}

}  // namespace

std::optional<discovery::InstanceSet> instancer_read(const config::RegistrySpec& spec,
                                                     const std::string& name, bool healthy_only) {
  auto ioc = std::make_unique<boost::asio::io_context>();
  const runtime::Clock& clock = runtime::steady_clock();
  auto instancer =
      discovery::make_instancer(ioc->get_executor(), spec, {name, {}, healthy_only}, clock);
  std::optional<discovery::Event> result;
  bool timed_out = false;
  runtime::Timer deadline(ioc->get_executor(), clock);
  deadline.arm_after(
      std::max(spec.etcd.dial_timeout, spec.consul.request_timeout) + std::chrono::seconds(1),
      [&] { timed_out = true; });
  instancer->list([&](const discovery::Event& e) { result = e; });
  for (int i = 0; !result && !timed_out && i < 1'000'000 && ioc->run_one() > 0; ++i) {
  }
  instancer->stop();
  deadline.cancel();
  if (!result) {
    unfinished().push_back({std::move(ioc), std::move(instancer)});
    return std::nullopt;
  }
  ioc->poll();
  if (!result->ok()) return std::nullopt;
  return *result->set;
}

Seen seen_of(const discovery::Instance& instance) {
  Seen s;
  s.name = instance.name;
  s.address = instance.address;
  s.port = instance.port;
  s.tags = instance.tags;
  s.meta = instance.meta;
  s.healthy = instance.health == registry::Health::Passing;
  return s;
}

}  // namespace registrar::conformance
