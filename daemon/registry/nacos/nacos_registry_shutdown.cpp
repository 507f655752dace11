// NacosRegistry's shutdown: every instance this daemon may have in Nacos is deregistered, within
// the timeout. What is left turns unhealthy 15 s after its last beat and is removed by the
// server after 30 s.
#include <spdlog/spdlog.h>

#include <utility>

#include "registry/common/bind_weak.hpp"
#include "registry/nacos/nacos_registry.hpp"

namespace registrar::registry::nacos {

void NacosRegistry::shutdown(std::chrono::milliseconds timeout, DoneCallback done) {
  if (latch_.opened()) return;
  loop_.stop();
  retry_.stop();
  tick_.cancel();
  for (auto& s : servers_) s->cancel_all();
  shutdown_done_ = std::move(done);
  latch_.open(
      timeout, [this](bool clean) { finish_shutdown(clean); },
      [] {
        spdlog::warn(
            "registry: deregistration from Nacos did not finish in time; what is left turns "
            "unhealthy 15 s after its last beat and Nacos removes it after 30 s");
      });
  std::vector<std::pair<std::string, Registration>> left;
  for (const auto& [id, e] : entries_)
    if (e.written) left.emplace_back(id, *e.written);
  if (left.empty()) {
    spdlog::info("registry: nothing registered in Nacos, nothing to deregister");
    return latch_.finish_soon(true);
  }
  spdlog::info("registry: deregistering {} instance(s) from Nacos", left.size());
  latch_.expect(left.size());
  for (auto& [id, reg] : left) deregister_for_shutdown(id, std::move(reg));
}

void NacosRegistry::deregister_for_shutdown(const std::string& id, Registration reg) {
  server().send(
      deregister_request(spec_, reg, login_.token()),
      common::bind_weak(this, &NacosRegistry::on_shutdown_deregistered, id, reg, meter_.sent()));
}

// A server that does not answer hands over to the next one, every 100 ms until the deadline. A
// refusal (403: the token ran out; we do not log in again this late) leaves it to the server's
// expiry.
void NacosRegistry::on_shutdown_deregistered(const std::string& id, Registration reg,
                                             time_point sent, HttpResult r) {
  if (!latch_.active() || r.error == HttpResult::Error::Cancelled) return;
  meter_.request("deregister", r.ok(), sent);
  if (!r.answered() || r.status >= 500 || r.status == 429) {
    if (servers_.size() > 1) current_ = (current_ + 1) % servers_.size();
    return latch_.again_after(common::kShutdownRetry, [this, id, reg = std::move(reg)] {
      deregister_for_shutdown(id, reg);
    });
  }
  bool clean = r.ok();
  if (clean) {
    if (auto it = entries_.find(id); it != entries_.end()) {
      it->second.written.reset();
      it->second.confirmed = false;
    }
  } else {
    spdlog::warn("registry: Nacos refused deregistering {}: HTTP {} {}", id, r.status,
                 r.body.substr(0, 200));
  }
  latch_.settle(clean);
}

void NacosRegistry::finish_shutdown(bool clean) {
  book_.recount(entries_, [](const Entry& e) { return e.written; });
  if (clean) spdlog::info("registry: all instances deregistered from Nacos");
  for (auto& s : servers_) s->cancel_all();
  if (auto done = std::exchange(shutdown_done_, nullptr)) done(clean);
}

}  // namespace registrar::registry::nacos
