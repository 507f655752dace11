#include "runtime/clock.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <ctime>

namespace registrar::runtime {

namespace {

struct RealAlarm {
  explicit RealAlarm(const boost::asio::any_io_executor& executor) : timer(executor) {}
  boost::asio::steady_timer timer;
};

}  // namespace

std::shared_ptr<void> Clock::schedule(const boost::asio::any_io_executor& executor, time_point at,
                                      std::function<void()> fire) const {
  auto alarm = std::make_shared<RealAlarm>(executor);
  alarm->timer.expires_at(steady_instant(at));
  // A released alarm cancels its wait (the handler sees an error) or, if the expiry was already
  // queued, can no longer be locked: either way `fire` does not run.
  alarm->timer.async_wait([weak = std::weak_ptr<RealAlarm>(alarm),
                           fire = std::move(fire)](const boost::system::error_code& ec) {
    const std::shared_ptr<RealAlarm> alive = weak.lock();
    if (alive && !ec) fire();
  });
  return alarm;
}

const Clock& steady_clock() {
  static const SteadyClock clock;
  return clock;
}

void ManualClock::advance(duration d) {
  now_ += d;
  wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
  post_due();
}

std::optional<Clock::time_point> ManualClock::next_expiry() const {
  std::optional<time_point> next;
  for (const Pending& p : pending_) {
    if (!p.handle.expired() && (!next || p.at < *next)) next = p.at;
  }
  return next;
}

std::shared_ptr<void> ManualClock::schedule(const boost::asio::any_io_executor& executor,
                                            time_point at, std::function<void()> fire) const {
  if (!drive_) return Clock::schedule(executor, at, std::move(fire));
  auto handle = std::make_shared<char>();
  pending_.push_back(Pending{at, scheduled_++, executor, handle, std::move(fire)});
  post_due();
  return handle;
}

void ManualClock::post_due() const {
  std::erase_if(pending_, [](const Pending& p) { return p.handle.expired(); });
  const auto not_due = std::stable_partition(pending_.begin(), pending_.end(),
                                             [this](const Pending& p) { return p.at <= now_; });
  std::vector<Pending> due(std::make_move_iterator(pending_.begin()),
                           std::make_move_iterator(not_due));
  pending_.erase(pending_.begin(), not_due);
  std::sort(due.begin(), due.end(), [](const Pending& a, const Pending& b) {
    return a.at != b.at ? a.at < b.at : a.order < b.order;
  });
  for (Pending& p : due) {
    boost::asio::post(p.executor, [handle = std::move(p.handle), fire = std::move(p.fire)] {
      if (!handle.expired()) fire();
    });
  }
}

std::string rfc3339_utc(Clock::wall_time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  if (ms < 0) ms += 1000;  // before 1970
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace registrar::runtime
