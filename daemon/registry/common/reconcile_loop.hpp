// The backend kit's reconcile loop: one request to the registry in flight at a time. A pass looks
// at what differs from the desired set and sends at most one request; when it completes, the
// next pass runs. Changes that arrive meanwhile are folded into that next pass, so a burst of
// probe results costs one request, not one per result.
#pragma once

#include <functional>

#include "registry/common/retry_schedule.hpp"

namespace registrar::registry::common {

class ReconcileLoop {
 public:
  using Pass = std::function<void()>;
  // `pass` runs only while the loop is idle: nothing in flight, no retry of `retry` waiting out
  // its backoff, not stopped. `retry` must outlive the loop (both are members of the backend).
  ReconcileLoop(Pass pass, const RetrySchedule& retry) : pass_(std::move(pass)), retry_(&retry) {}

  // Runs one pass now if the loop is idle; otherwise the completion or the retry that blocks it
  // will run it. Backends call this after every event (apply, a completion, a timer).
  void run() {
    if (idle()) pass_();
  }
  // A request has been sent: no pass runs until end().
  void begin() { in_flight_ = true; }
  // Its completion arrived. Does not run the next pass: the completion handler updates the state
  // first, then calls run().
  void end() { in_flight_ = false; }
  // Shutdown: no pass runs from here on, and a request in flight is forgotten.
  void stop() {
    stopped_ = true;
    in_flight_ = false;
  }

  bool in_flight() const { return in_flight_; }
  bool stopped() const { return stopped_; }
  bool idle() const { return !stopped_ && !in_flight_ && !retry_->pending(); }

 private:
  Pass pass_;
  const RetrySchedule* retry_;
  bool in_flight_ = false;
  bool stopped_ = false;
};

}  // namespace registrar::registry::common
