// ConsulRegistry's requests, one per change the loop finds, and what each answer means for the
// entry it concerns.
#include <spdlog/spdlog.h>

#include <functional>

#include "registry/consul/consul_registry.hpp"
#include "registry/consul/consul_registry_internal.hpp"

namespace registrar::registry::consul {

void ConsulRegistry::register_service(const std::string& id) {
  Entry& e = entries_.at(id);
  const Registration reg = *e.desired;
  e.attempted = true;
  send(kRegister, Method::Put, register_target(),
       register_body(reg, weights_of(id), spec_.consul.owner, check_), id,
       std::bind_front(&ConsulRegistry::on_registered, this, id, e.fingerprint, reg.health));
}

void ConsulRegistry::on_registered(const std::string& id, const std::string& fingerprint,
                                   Health health, HttpResult&& r) {
  if (!r.ok()) return on_failure("registering " + id, r, id);
  auto it = entries_.find(id);
  if (it == entries_.end()) return on_success(true);
  Entry& e = it->second;
  const auto now = clock_.now();
  e.registered = true;
  e.registered_fingerprint = fingerprint;
  e.pushed = health;
  e.output_pending = true;  // then push the probe's Output
  e.refreshed_at = e.verified_at = now;
  if (e.lost) {  // the agent had lost it: registered again
    e.lost = false;
    meter_.regrant();
  }
  if (health == Health::Critical) {
    e.critical_since = now;  // a new check starts its critical time anew
  } else {
    e.critical_since.reset();
    e.lost_while_critical = false;
  }
  if (e.changed_at && e.desired && e.desired->health == health) {
    spdlog::info("registry: {} registered ({}) {} ms after probe result (check {})", id,
                 to_string(health), ms_since(*e.changed_at, now), check_id(id));
    e.changed_at.reset();
  } else {
    spdlog::info("registry: {} registered in Consul ({}, check {})", id, to_string(health),
                 check_id(id));
  }
  on_success(true, id);
}

void ConsulRegistry::update_check(const std::string& id) {
  const Registration& reg = *entries_.at(id).desired;
  send(kCheckUpdate, Method::Put, update_target(id), update_body(reg.health, reg.output), id,
       std::bind_front(&ConsulRegistry::on_check_updated, this, id, reg.health));
}

void ConsulRegistry::on_check_updated(const std::string& id, Health health, HttpResult&& r) {
  if (r.answered() && check_unknown(r.status, r.body))
    return lost(id, "the agent answered " + token_.describe(r.status, r.body));
  if (!r.ok()) return on_failure("updating check " + check_id(id), r, id);
  auto it = entries_.find(id);
  if (it == entries_.end()) return on_success(true);
  Entry& e = it->second;
  const auto now = clock_.now();
  const bool changed = e.pushed != health;
  state_.inherited_ids.erase(id);  // its probes decide from now on
  e.pushed = health;
  e.output_pending = false;
  e.push_now = e.desired && e.desired->health != health;
  e.refreshed_at = now;
  if (health != Health::Critical) {
    e.critical_since.reset();
    e.lost_while_critical = false;
  } else if (!e.critical_since) {
    e.critical_since = now;
  }
  const bool as_desired = e.changed_at && e.desired && e.desired->health == health;
  if (changed) {
    if (as_desired)
      spdlog::info("registry: {} check {} {} ms after probe result", id, to_string(health),
                   ms_since(*e.changed_at, now));
    else
      spdlog::info("registry: {} check {}", id, to_string(health));
  }
  if (as_desired) e.changed_at.reset();
  on_success(true, id);
}

// Reconcile: does the agent still hold what we registered?
void ConsulRegistry::verify(const std::string& id) {
  send(kServiceGet, Method::Get, service_target(id), "", id,
       std::bind_front(&ConsulRegistry::on_service_read, this, id));
}

void ConsulRegistry::on_service_read(const std::string& id, HttpResult&& r) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  const auto now = clock_.now();
  if (r.answered() && r.status == 404) {
    e.verified_at = now;
    on_success(false);
    if (e.foreign) {
      e.foreign = false;
      spdlog::info("registry: service id {} no longer belongs to another owner; registering it",
                   id);
      return;
    }
    return lost(id, "GET " + service_target(id) + " answered 404");
  }
  if (!r.ok()) return on_failure("reading service " + id, r, id);
  std::string why;
  auto svc = parse_service(r.body, why);
  if (!svc) return on_unreadable("reading service " + id, std::move(r), why, id);
  e.verified_at = now;
  on_success(false);
  if (!owned_by(*svc, spec_.consul.owner)) {
    if (!e.foreign) {
      spdlog::warn(
          "registry: service id {} in Consul was registered again by another owner; leaving it "
          "alone until it goes away",
          id);
      e.foreign = true;
      e.registered = false;
      e.attempted = false;
    }
    return;
  }
  if (e.foreign) {
    e.foreign = false;
    e.registered = false;
    return;
  }
  if (e.desired &&
      !same_service(*svc, expected_service(*e.desired, weights_of(id), spec_.consul.owner))) {
    spdlog::warn(
        "registry: {} in the Consul agent differs from the manifest's registration; registering "
        "it again",
        id);
    e.registered = false;
  }
}

void ConsulRegistry::deregister(const std::string& id) {
  send(kDeregister, Method::Put, deregister_target(id), "", id,
       std::bind_front(&ConsulRegistry::on_deregistered, this, id));
}

void ConsulRegistry::on_deregistered(const std::string& id, HttpResult&& r) {
  if (!(r.ok() || (r.answered() && r.status == 404)))
    return on_failure("deregistering " + id, r, id);
  on_success(true, id);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  if (e.stale)
    spdlog::info(
        "registry: removed stale service {} (registered by this daemon, not in the manifest)", id);
  else if (e.changed_at)
    spdlog::info("registry: {} deregistered {} ms after it left the desired set", id,
                 ms_since(*e.changed_at, clock_.now()));
  else
    spdlog::info("registry: {} deregistered", id);
  if (e.desired) {
    e.registered = e.attempted = e.stale = e.lost = false;
    e.pushed.reset();
  } else {
    forget(it);
  }
}

// The agent no longer has the service or its check: it restarted without its data, someone
// deregistered it, or Consul reaped it after deregister_critical_after.
void ConsulRegistry::lost(const std::string& id, const std::string& why) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  e.registered = false;
  e.lost = true;
  e.pushed.reset();
  e.output_pending = false;
  const auto now = clock_.now();
  const bool critical = e.desired && e.desired->health == Health::Critical;
  if (critical &&
      ((e.critical_since && now - *e.critical_since >= check_.deregister_critical_after) ||
       e.lost_while_critical)) {
    // Consul's reaper did what deregister_critical_after asks for. Registering the service again
    // while it is still critical would only have it reaped again, every interval: wait for it
    // to pass. (Lost twice in one critical spell counts as reaped too, whatever the clocks say.)
    e.reaped = true;
    e.critical_since.reset();
    e.lost_while_critical = false;
    spdlog::info(
        "registry: {} is gone from the Consul agent while its check is critical (Consul removes "
        "services critical for {}: deregister_critical_after); it is registered again once it "
        "passes",
        id, go_duration(check_.deregister_critical_after));
    return;
  }
  e.lost_while_critical = critical;
  spdlog::warn("registry: {} is missing from the Consul agent ({}); registering it again", id, why);
}

}  // namespace registrar::registry::consul
