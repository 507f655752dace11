// EurekaRegistry's shutdown: every instance this daemon may have registered is cancelled
// (DELETE), within the timeout, at the server in use (Eureka servers replicate a cancel to
// their peers).
#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

#include "registry/common/bind_weak.hpp"
#include "registry/eureka/eureka_registry.hpp"

namespace registrar::registry::eureka {

// An unreachable server is retried every 100 ms (on the next server of the list, if any) until
// `timeout`; what is left expires by the server's rule: 2 x lease_duration after the last
// heartbeat, at its next eviction run, unless self-preservation holds evictions back.
void EurekaRegistry::shutdown(std::chrono::milliseconds timeout, DoneCallback done) {
  if (latch_.opened()) return;
  loop_.stop();
  retry_.stop();
  tick_.cancel();
  for (auto& t : transports_) t->cancel_all();
  shutdown_done_ = std::move(done);
  latch_.open(
      timeout, [this](bool clean) { finish_shutdown(clean); },
      [this] {
        spdlog::warn(
            "registry: cancelling in Eureka did not finish in time; what is left expires {} s "
            "after its last heartbeat (2 x lease_duration), at the server's next eviction run",
            2 * lease_.lease_duration.count() / 1000);
      });
  std::vector<std::string> ids;
  for (const auto& [id, e] : entries_)
    if (e.registered || e.attempted) ids.push_back(id);
  if (ids.empty()) {
    spdlog::info("registry: nothing registered in Eureka, nothing to cancel");
    return latch_.finish_soon(true);
  }
  spdlog::info("registry: cancelling {} instance(s) in Eureka", ids.size());
  latch_.expect(ids.size());
  for (const auto& id : ids) cancel_for_shutdown(id);
}

void EurekaRegistry::cancel_for_shutdown(const std::string& id) {
  const Entry& e = entries_.at(id);
  HttpRequest req;
  req.method = Method::Delete;
  req.target = instance_target(base(), e.name, id);
  req.headers = headers();
  transports_[current_]->send(
      std::move(req),
      common::bind_weak(this, &EurekaRegistry::on_shutdown_cancelled, id, meter_.sent()));
}

void EurekaRegistry::on_shutdown_cancelled(const std::string& id, time_point sent, HttpResult r) {
  if (!latch_.active() || r.error == HttpResult::Error::Cancelled) return;
  meter_.request("cancel", r.ok() || (r.answered() && r.status == 404), sent);
  if (!r.answered() || r.status >= 500) {
    if (transports_.size() > 1) current_ = (current_ + 1) % transports_.size();
    return latch_.again_after(common::kShutdownRetry, [this, id] { cancel_for_shutdown(id); });
  }
  bool clean = true;
  if (r.ok() || r.status == 404) {  // 404: gone already, which is what we want
    Entry& e = entries_.at(id);
    e.registered = e.attempted = false;
  } else {
    spdlog::warn("registry: the Eureka server refused cancelling {}: HTTP {}", id, r.status);
    clean = false;
  }
  latch_.settle(clean);
}

void EurekaRegistry::finish_shutdown(bool clean) {
  book_.recount(entries_, [](const Entry& e) { return e.registered; });
  if (clean) spdlog::info("registry: all instances cancelled in Eureka");
  for (auto& t : transports_) t->cancel_all();
  if (auto done = std::exchange(shutdown_done_, nullptr)) done(clean);
}

}  // namespace registrar::registry::eureka
