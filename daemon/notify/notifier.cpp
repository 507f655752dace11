#include "notify/notifier.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>

namespace registrar::notify {

namespace {

class SdNotifySink final : public Sink {
 public:
  bool send(const std::string& message) override { return sd_notify(0, message.c_str()) > 0; }

  std::chrono::microseconds watchdog_interval() override {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0) return std::chrono::microseconds{0};
    return std::chrono::microseconds{static_cast<std::chrono::microseconds::rep>(usec)};
  }
};

}  // namespace

std::unique_ptr<Sink> make_sd_notify_sink() {
  return std::make_unique<SdNotifySink>();
}

std::string status_line(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) out += (c == '\n' || c == '\r') ? ' ' : c;
  constexpr std::size_t kMax = 200;
  if (out.size() > kMax) {
    std::size_t cut = kMax;
    // Do not split a UTF-8 sequence.
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

Notifier::Notifier(boost::asio::any_io_executor executor, std::unique_ptr<Sink> sink,
                   const runtime::Clock& clock)
    : sink_(std::move(sink)), timer_(std::move(executor), clock) {}

void Notifier::ready(const std::string& status) {
  if (ready_sent_) return;
  ready_sent_ = true;
  last_status_ = status_line(status);
  sink_->send("READY=1\nSTATUS=" + last_status_);
}

void Notifier::status(const std::string& line) {
  std::string s = status_line(line);
  if (s == last_status_) return;
  last_status_ = s;
  sink_->send("STATUS=" + s);
}

void Notifier::stopping(const std::string& status) {
  if (stopping_sent_) return;
  stopping_sent_ = true;
  last_status_ = status_line(status);
  sink_->send("STOPPING=1\nSTATUS=" + last_status_);
}

void Notifier::start_watchdog() {
  watchdog_interval_ = sink_->watchdog_interval();
  if (watchdog_interval_.count() <= 0) return;
  sink_->send("WATCHDOG=1");
  arm();
}

void Notifier::arm() {
  timer_.arm_after(watchdog_interval_ / 2, [this] {
    sink_->send("WATCHDOG=1");
    arm();
  });
}

}  // namespace registrar::notify
