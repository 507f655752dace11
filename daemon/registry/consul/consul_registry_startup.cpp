// ConsulRegistry at start: which services in the agent are ours, and which of them can be kept
// as they are.
#include <spdlog/spdlog.h>

#include <functional>

#include "registry/consul/consul_registry.hpp"
#include "registry/consul/consul_registry_internal.hpp"

namespace registrar::registry::consul {

// Ours that the manifest no longer names are stale (left by a crash, or by a manifest change
// while we were down) and are deregistered; ours that are still wanted and unchanged are kept as
// they are (no write); a wanted id that belongs to someone else is left alone.
void ConsulRegistry::sweep() {
  send(kServicesList, Method::Get, kServicesTarget, "", "",
       std::bind_front(&ConsulRegistry::on_services_listed, this));
}

void ConsulRegistry::on_services_listed(HttpResult&& r) {
  if (!r.ok()) return on_failure("listing the agent's services", r);
  std::string why;
  auto listed = parse_services(r.body, why);
  if (!listed) return on_unreadable("listing the agent's services", std::move(r), why);
  std::map<std::string, AgentService> ours;
  std::size_t stale = 0;
  for (auto& [id, svc] : *listed) {
    const bool mine = owned_by(svc, spec_.consul.owner);
    auto it = entries_.find(id);
    const bool wanted = it != entries_.end() && it->second.desired;
    if (mine && !wanted) {
      entries_[id].stale = true;
      touch(id);
      ++stale;
    } else if (mine) {
      ours.emplace(id, std::move(svc));
    } else if (wanted) {
      it->second.foreign = true;
      it->second.verified_at = clock_.now();
      touch(id);
      auto by = svc.meta.find(kOwnerKey);
      const std::string other = by != svc.meta.end() ? "grpc-registrar-owner \"" + by->second + "\""
                                                     : "no grpc-registrar-owner in its Meta";
      spdlog::warn(
          "registry: service id {} is already registered in Consul by another owner ({}); "
          "leaving it alone until it goes away (deregister it, or set registry.consul.owner "
          "if that owner was this daemon)",
          id, other);
    }
  }
  if (stale > 0)
    spdlog::info("registry: {} of this daemon in Consul no longer in the manifest; removing them",
                 services(stale));
  on_success(false);
  if (ours.empty()) {
    swept_ = true;
    return publish_state();
  }
  adopt(std::move(ours));
}

// Ours and still wanted: keep the registration if it is exactly what we would write (service
// fields, and our check with the same Notes, i.e. the same TTL settings), so that a restart of
// the daemon writes nothing and clients see no change.
void ConsulRegistry::adopt(std::map<std::string, AgentService> ours) {
  send(kChecksList, Method::Get, kChecksTarget, "", "",
       std::bind_front(&ConsulRegistry::on_checks_listed, this, std::move(ours)));
}

void ConsulRegistry::on_checks_listed(const std::map<std::string, AgentService>& ours,
                                      HttpResult&& r) {
  if (!r.ok()) return on_failure("listing the agent's checks", r);
  std::string why;
  auto checks = parse_checks(r.body, why);
  if (!checks) return on_unreadable("listing the agent's checks", std::move(r), why);
  const auto now = clock_.now();
  std::size_t kept = 0;
  std::set<std::string> inherited;
  for (const auto& [id, svc] : ours) {
    auto it = entries_.find(id);
    if (it == entries_.end() || !it->second.desired) continue;
    Entry& e = it->second;
    e.attempted = true;  // it is in the agent: ours to deregister at shutdown
    touch(id);
    auto c = checks->find(check_id(id));
    const bool same =
        same_service(svc, expected_service(*e.desired, weights_of(id), spec_.consul.owner)) &&
        c != checks->end() && c->second.service_id == id && c->second.notes == check_notes(check_);
    if (!same) continue;  // registered again (an overwrite)
    e.registered = true;
    e.registered_fingerprint = e.fingerprint;
    e.pushed = parse_health(c->second.status);
    e.refreshed_at = e.verified_at = now;
    if (e.pushed == Health::Critical) e.critical_since = now;
    if (e.pushed == Health::Passing) inherited.insert(id);
    touch(id);
    ++kept;
  }
  if (kept > 0)
    spdlog::info(
        "registry: {} of this daemon already in Consul, unchanged; kept as they are ({} passing)",
        services(kept), inherited.size());
  swept_ = true;
  on_success(false);
  publish_state();
  // The supervisor starts these healthy, so that a restart of the daemon leaves no gap; their
  // probes decide from there (the next refresh pushes what they say).
  if (!inherited.empty()) {
    state_.inherited_ids = std::move(inherited);
    if (on_state_) on_state_(state_);
  }
}

}  // namespace registrar::registry::consul
