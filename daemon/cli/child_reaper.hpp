// As PID 1 (the entrypoint of a container), the daemon inherits every orphaned process in its
// PID namespace, e.g. children of `docker exec` sessions whose parent exited. It runs none of its
// own, but reaps those so that they do not linger as zombies. Does nothing when not PID 1.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/signal_set.hpp>
#include <memory>

namespace registrar::cli {

class ChildReaper {
 public:
  // `force` reaps even when not PID 1 (for tests).
  explicit ChildReaper(boost::asio::any_io_executor executor, bool force = false);
  bool active() const { return signals_ != nullptr; }
  // Children reaped so far.
  std::size_t reaped() const { return reaped_; }

 private:
  void wait();
  void reap();

  std::unique_ptr<boost::asio::signal_set> signals_;
  std::size_t reaped_ = 0;
};

}  // namespace registrar::cli
