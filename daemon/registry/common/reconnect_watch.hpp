// The backend kit's fast retry: during an outage, polls whether the transport's connection is up
// again, and once it is (after having been seen down), calls back at once, so that a retry
// waiting out a long backoff goes now. A connection that stays up while requests fail (a registry
// without a leader, say) triggers nothing: the backoff paces those.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>

#include "runtime/clock.hpp"
#include "runtime/timer.hpp"

namespace registrar::registry::common {

class ReconnectWatch {
 public:
  struct Hooks {
    std::function<bool()> ready;   // is the transport's connection up now?
    std::function<bool()> needed;  // does anything still wait for the connection?
    std::function<void()> back;    // the connection, seen down, is up again
  };

  ReconnectWatch(boost::asio::any_io_executor executor, const runtime::Clock& clock,
                 std::chrono::milliseconds every, Hooks hooks)
      : every_(every), hooks_(std::move(hooks)), timer_(std::move(executor), clock) {}

  // Begins polling every `every`, unless already polling or stopped. Polling ends by itself
  // once nothing needs the connection any more, or after calling `back`.
  void start();
  // Shutdown: no poll and no `back` from here on.
  void stop();
  bool watching() const { return timer_.armed(); }

 private:
  void poll();

  std::chrono::milliseconds every_;
  Hooks hooks_;
  runtime::Timer timer_;
  bool seen_down_ = false;  // the connection was seen down since polling began
  bool stopped_ = false;
};

}  // namespace registrar::registry::common
