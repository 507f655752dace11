// ConsulRegistry's shutdown: every service this daemon may have in the agent is deregistered
// (never another owner's), within the timeout.
#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

#include "registry/common/bind_weak.hpp"
#include "registry/consul/consul_registry.hpp"
#include "registry/consul/consul_registry_internal.hpp"

namespace registrar::registry::consul {

// One request after another on the kept-alive connection. An unreachable agent is retried every
// 100 ms until `timeout`; what is left then goes critical after the check TTL and is reaped
// after deregister_critical_after.
void ConsulRegistry::shutdown(std::chrono::milliseconds timeout, DoneCallback done) {
  if (latch_.opened()) return;
  loop_.stop();
  retry_.stop();
  tick_.cancel();
  transport_->cancel_all();
  shutdown_done_ = std::move(done);
  latch_.open(
      timeout, [this](bool clean) { finish_shutdown(clean); },
      [this] {
        spdlog::warn(
            "registry: deregistration did not finish in time; what is left goes critical after "
            "the check TTL ({}) and Consul removes it after {}",
            go_duration(check_.ttl), go_duration(check_.deregister_critical_after));
      });

  std::vector<std::string> ids;
  for (const auto& [id, e] : entries_)
    if (!e.foreign && (e.registered || e.attempted || e.stale)) ids.push_back(id);
  if (ids.empty()) {
    spdlog::info("registry: nothing registered in Consul, nothing to deregister");
    return latch_.finish_soon(true);
  }
  spdlog::info("registry: deregistering {} from the Consul agent", services(ids.size()));
  latch_.expect(ids.size());
  for (const auto& id : ids) deregister_for_shutdown(id);
}

void ConsulRegistry::deregister_for_shutdown(const std::string& id) {
  transport_->send(
      agent_request(Method::Put, deregister_target(id), "", token_.value()),
      common::bind_weak(this, &ConsulRegistry::on_shutdown_deregistered, id, meter_.sent()));
}

void ConsulRegistry::on_shutdown_deregistered(const std::string& id, time_point sent,
                                              HttpResult r) {
  if (!latch_.active() || r.error == HttpResult::Error::Cancelled) return;
  observe(kDeregister, r, sent);
  if (!r.answered() || r.status >= 500 || r.status == 429)
    return latch_.again_after(common::kShutdownRetry, [this, id] { deregister_for_shutdown(id); });
  bool clean = true;
  if (r.ok() || r.status == 404) {  // 404: already gone, which is what we want
    if (auto it = entries_.find(id); it != entries_.end())
      it->second.registered = it->second.attempted = it->second.stale = false;
  } else {
    spdlog::warn("registry: the Consul agent refused deregistering {}: {}", id,
                 token_.describe(r.status, r.body));
    clean = false;
  }
  latch_.settle(clean);
}

void ConsulRegistry::finish_shutdown(bool clean) {
  book_.recount(entries_, [](const Entry& e) { return e.registered; });
  if (clean) spdlog::info("registry: all services deregistered from the Consul agent");
  transport_->cancel_all();
  if (auto done = std::exchange(shutdown_done_, nullptr)) done(clean);
}

}  // namespace registrar::registry::consul
