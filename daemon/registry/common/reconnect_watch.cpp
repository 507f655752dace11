#include "registry/common/reconnect_watch.hpp"

namespace registrar::registry::common {

void ReconnectWatch::start() {
  if (watching() || stopped_) return;
  seen_down_ = false;
  timer_.arm_after(every_, [this] { poll(); });
}

void ReconnectWatch::stop() {
  stopped_ = true;
  timer_.cancel();
}

void ReconnectWatch::poll() {
  if (!hooks_.needed()) return;
  if (!hooks_.ready()) {
    seen_down_ = true;
  } else if (seen_down_) {
    return hooks_.back();
  }
  // Down, or up but never seen down (the failure was not the connection's): look again.
  timer_.arm_after(every_, [this] { poll(); });
}

}  // namespace registrar::registry::common
