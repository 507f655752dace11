// The backend kit's retry: after a failure, wait out the manifest's backoff (registry.backoff:
// capped, jittered, growing) before the next attempt; when the connection comes back, a waiting
// retry can go at once (cut_short). The wait runs on a runtime::Timer, so a ManualClock can drive
// it in tests.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>

#include "config/manifest.hpp"
#include "runtime/backoff.hpp"
#include "runtime/clock.hpp"
#include "runtime/timer.hpp"

namespace registrar::registry::common {

class RetrySchedule {
 public:
  // `due` runs when a retry has waited out its delay (typically: the reconcile loop's run()).
  RetrySchedule(boost::asio::any_io_executor executor, const runtime::Clock& clock,
                const config::BackoffSpec& settings, runtime::Backoff::Random random,
                std::function<void()> due);

  // Waits the next delay of this schedule's backoff, then calls `due`. Does nothing while a
  // retry already waits, or once stopped.
  void later() { later(backoff_); }
  // The same with another backoff of the backend's (leases lost in a row, say).
  void later(runtime::Backoff& backoff);
  // Waits the backoff's next delay, but at most `cap`: a retry that must come within a deadline
  // of the registry's own (a TTL about to expire) even while the backoff has grown. The backoff
  // still advances, so once the deadline is gone later() goes on from where it was.
  void later_within(runtime::Clock::duration cap);
  // The connection came back: the waiting retry, if any, is dropped, and true is returned; the
  // caller runs its loop now instead of waiting out the backoff.
  bool cut_short();
  // A success: the next failure waits the initial delay again.
  void reset() { backoff_.reset(); }
  // Shutdown: the waiting retry is dropped, later() does nothing from here on.
  void stop();

  bool pending() const { return timer_.armed(); }
  runtime::Backoff& backoff() { return backoff_; }
  // A fresh backoff with the same settings and random source, for a backend's other paces (a
  // per-entry refusal, a stream reopen).
  runtime::Backoff make_backoff() const;

 private:
  config::BackoffSpec settings_;
  runtime::Backoff::Random random_;
  runtime::Backoff backoff_;
  std::function<void()> due_;
  runtime::Timer timer_;
  bool stopped_ = false;
};

}  // namespace registrar::registry::common
