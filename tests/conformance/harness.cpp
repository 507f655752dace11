#include "conformance/harness.hpp"

#include <boost/asio/post.hpp>

#include "registry/factory.hpp"

namespace registrar::conformance {

using namespace std::chrono_literals;

template <class Fn>
auto RegistryHarness::on_io(Fn fn) -> decltype(fn()) {
  // Shared with the handler: the task must outlive its own run, which may still be returning on
  // the io thread when get() wakes up here.
  auto task = std::make_shared<std::packaged_task<decltype(fn())()>>(std::move(fn));
  auto result = task->get_future();
  boost::asio::post(io_, [task] { (*task)(); });
  return result.get();
}

RegistryHarness::RegistryHarness(const config::RegistrySpec& spec)
    : work_(boost::asio::make_work_guard(io_)) {
  thread_ = std::thread([this] { io_.run(); });
  registry_ = on_io([&] { return registry::make_registry(io_.get_executor(), spec, clock_); });
}

RegistryHarness::~RegistryHarness() {
  if (!shut_down_) shutdown(1s, 5s);
  on_io([this] {
    registry_.reset();
    return 0;
  });
  // Calls the backend cancelled complete on gRPC's or Beast's side and post their last
  // references back to the io_context: let them land before it stops.
  std::this_thread::sleep_for(300ms);
  work_.reset();
  io_.stop();
  thread_.join();
}

void RegistryHarness::start() {
  on_io([this] {
    registry_->start([](const registry::RegistryState&) {});
    return 0;
  });
}

void RegistryHarness::apply(const registry::DesiredSet& desired) {
  on_io([this, desired] {
    registry_->apply(desired);
    return 0;
  });
}

registry::RegistryState RegistryHarness::state() {
  return on_io([this] { return registry_->state(); });
}

std::optional<ShutdownResult> RegistryHarness::shutdown(std::chrono::milliseconds timeout,
                                                        std::chrono::milliseconds wait) {
  shut_down_ = true;
  auto done = std::make_shared<std::promise<bool>>();
  auto result = done->get_future();
  const auto since = std::chrono::steady_clock::now();
  on_io([this, timeout, done] {
    registry_->shutdown(timeout, [done](bool clean) { done->set_value(clean); });
    return 0;
  });
  if (result.wait_for(wait) != std::future_status::ready) return std::nullopt;
  const bool clean = result.get();
  return ShutdownResult{clean, std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now() - since)};
}

}  // namespace registrar::conformance
