#include "discovery/poller.hpp"

namespace registrar::discovery {

Poller::Poller(boost::asio::any_io_executor executor, const runtime::Clock& clock,
               const config::BackoffSpec& backoff, runtime::Clock::duration interval)
    : timer_(std::move(executor), clock),
      backoff_(backoff.initial, backoff.max, backoff.multiplier, backoff.jitter,
               runtime::default_random()),
      interval_(interval) {}

void Poller::start(Read read, Instancer::OnEvent on_event) {
  read_ = std::move(read);
  on_event_ = std::move(on_event);
  round();
}

void Poller::stop() {
  stopped_ = true;
  timer_.cancel();
}

void Poller::round() {
  if (stopped_) return;
  // The owner guarantees `done` runs only while it (and so this member) is alive.
  read_([this](const Event& event) { on_read(event); });
}

void Poller::on_read(const Event& event) {
  if (stopped_) return;
  if (filter_.news(event)) on_event_(event);
  if (event.ok()) {
    backoff_.reset();
    timer_.arm_after(interval_, [this] { round(); });
  } else {
    timer_.arm_after(backoff_.next(), [this] { round(); });
  }
}

}  // namespace registrar::discovery
