#include "supervisor/supervisor.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

namespace registrar::supervisor {

namespace {

registry::Registration to_registration(const config::ServiceSpec& s, bool healthy,
                                       const probe::Result& last, bool probed) {
  return {s.name,
          s.id,
          s.address,
          s.port,
          s.tags,
          s.meta,
          healthy ? registry::Health::Passing : registry::Health::Critical,
          probed ? last.detail : "no probe result yet"};
}

// Rise/fall thresholds that start in the given state: a healthy one needs `fall` failures in a
// row to turn unhealthy, exactly as if `rise` successes had just made it healthy.
probe::Hysteresis hysteresis_in_state(int rise, int fall, bool healthy) {
  probe::Hysteresis h(rise, fall);
  for (int i = 0; healthy && i < h.rise(); ++i) h.observe(true);
  return h;
}

}  // namespace

Supervisor::Supervisor(Key, boost::asio::any_io_executor executor, config::Manifest manifest,
                       std::shared_ptr<registry::Registry> registry, ProberFactory make_prober,
                       const runtime::Clock& clock)
    : executor_(executor),
      manifest_(std::move(manifest)),
      registry_(std::move(registry)),
      make_prober_(std::move(make_prober)),
      clock_(clock),
      drain_timer_(executor, clock) {
  for (const auto& spec : manifest_.services) services_.emplace(spec.id, make_service(spec));
}

Supervisor::~Supervisor() {
  for (auto& [id, svc] : services_)
    if (svc.prober) svc.prober->stop();
}

Supervisor::Service Supervisor::make_service(const config::ServiceSpec& spec) const {
  return Service{.spec = spec,
                 .hysteresis = probe::Hysteresis(spec.probe.rise, spec.probe.fall),
                 .prober = nullptr,
                 .last_result = {},
                 .last_change = std::nullopt,
                 .last_change_wall = std::nullopt,
                 .probed = false,
                 .seen_failure = false};
}

void Supervisor::start_prober(const std::string& id, Service& svc) {
  svc.prober = make_prober_(svc.spec);
  svc.prober->start([weak = weak_from_this(), id](const probe::Result& r) {
    if (const auto self = weak.lock()) self->on_result(id, r);
  });
}

void Supervisor::start() {
  started_ = true;
  registry_->start([weak = weak_from_this()](const registry::RegistryState& state) {
    if (const auto self = weak.lock()) self->on_registry_state(state);
  });
  apply_now();
  for (auto& [id, svc] : services_) start_prober(id, svc);
  spdlog::info("supervisor: probing {} service(s)", services_.size());
}

void Supervisor::mark_changed(Service& svc) {
  svc.last_change = clock_.now();
  svc.last_change_wall = clock_.wall_now();
}

void Supervisor::on_result(const std::string& id, const probe::Result& result) {
  if (stopping_ || draining()) return;
  auto it = services_.find(id);
  if (it == services_.end()) return;
  Service& svc = it->second;
  if (result.outcome != svc.last_result.outcome) spdlog::debug("probe: {} {}", id, result.detail);
  svc.last_result = result;
  svc.probed = true;
  if (!result.ok()) svc.seen_failure = true;
  switch (svc.hysteresis.observe(result.ok())) {
    case probe::Hysteresis::Change::None:
      return;
    case probe::Hysteresis::Change::BecameHealthy:
      spdlog::info("service {} is healthy ({})", id, result.detail);
      break;
    case probe::Hysteresis::Change::BecameUnhealthy:
      spdlog::warn("service {} is unhealthy ({})", id, result.detail);
      break;
  }
  mark_changed(svc);
  schedule_apply();
}

void Supervisor::schedule_apply() {
  if (apply_pending_) return;
  apply_pending_ = true;
  boost::asio::post(executor_, [weak = weak_from_this()] {
    const auto self = weak.lock();
    if (!self || !self->apply_pending_) return;  // a direct apply_now() came first
    self->apply_now();
  });
}

void Supervisor::apply_now() {
  apply_pending_ = false;
  if (stopping_) return;  // the registry is shutting down; it ignores apply() from here on
  registry_->apply(desired());
}

// A previous run of this daemon left these services registered (the backend found them through
// its ownership record). Those whose probes have not failed yet start healthy: the backend moves
// their entries over without a gap, and `fall` failures remove them as for any healthy service.
// One that failed already (or is healthy by now) keeps its own verdict.
void Supervisor::on_registry_state(const registry::RegistryState& state) {
  if (draining()) {
    if (!drain_complete_logged_ && state.in_sync && state.registered == 0) {
      drain_complete_logged_ = true;
      spdlog::info("drain complete: nothing registered; waiting for SIGTERM");
    }
    return;
  }
  if (stopping_) return;
  bool seeded = false;
  for (const auto& id : state.inherited_ids) {
    auto it = services_.find(id);
    if (it == services_.end()) continue;
    Service& svc = it->second;
    if (svc.seen_failure || svc.hysteresis.healthy()) continue;
    svc.hysteresis = hysteresis_in_state(svc.spec.probe.rise, svc.spec.probe.fall, true);
    mark_changed(svc);
    spdlog::info(
        "service {} starts healthy: registered by a previous run of this daemon; "
        "its probes decide from here",
        id);
    seeded = true;
  }
  if (seeded) apply_now();
}

registry::DesiredSet Supervisor::desired() const {
  registry::DesiredSet set;
  if (stopping_ || draining()) return set;
  for (const auto& [id, svc] : services_)
    set.emplace(id,
                to_registration(svc.spec, svc.hysteresis.healthy(), svc.last_result, svc.probed));
  return set;
}

std::vector<ServiceStatus> Supervisor::status() const {
  std::vector<ServiceStatus> out;
  for (const auto& [id, svc] : services_)
    out.push_back({id, svc.spec.name, svc.hysteresis.healthy(), svc.last_result, svc.last_change,
                   svc.last_change_wall});
  return out;
}

ReloadResult Supervisor::reload(config::Manifest next) {
  ReloadResult result;
  if (stopping_) {
    result.error = "the daemon is stopping";
    return result;
  }
  if (draining()) {
    result.error = "the daemon is draining (nothing is registered again until it restarts)";
    return result;
  }
  result.plan = plan_reload(manifest_, next);
  const ReloadPlan& plan = result.plan;
  if (!plan.registry_change.empty()) {
    result.error = plan.registry_change + "; registry settings apply on restart only";
    return result;
  }
  std::map<std::string, const config::ServiceSpec*> specs;
  for (const auto& s : next.services) specs.emplace(s.id, &s);

  for (const auto& id : plan.removed) {
    auto it = services_.find(id);
    if (it == services_.end()) continue;  // the plan is made from services_, so never; be safe
    if (it->second.prober) it->second.prober->stop();
    services_.erase(it);
  }
  // Changed services keep their verdict: a healthy one stays registered (rewritten once if its
  // entry changed) while its prober, new or not, goes on deciding.
  auto update = [&](const std::string& id, bool new_prober) {
    Service& svc = services_.at(id);
    const config::ServiceSpec& spec = *specs.at(id);
    const bool healthy = svc.hysteresis.healthy();
    if (spec.probe.rise != svc.spec.probe.rise || spec.probe.fall != svc.spec.probe.fall ||
        new_prober)
      svc.hysteresis = hysteresis_in_state(spec.probe.rise, spec.probe.fall, healthy);
    svc.spec = spec;
    if (new_prober && started_) {
      if (svc.prober) svc.prober->stop();
      start_prober(id, svc);
    }
  };
  for (const auto& id : plan.rewritten) update(id, false);
  for (const auto& id : plan.reprobed) update(id, true);
  for (const auto& id : plan.added) {
    auto [it, inserted] = services_.emplace(id, make_service(*specs.at(id)));
    if (started_) start_prober(id, it->second);
  }
  manifest_ = std::move(next);
  result.applied = true;
  if (plan.changes_services() && started_) apply_now();
  return result;
}

void Supervisor::drain() {
  if (stopping_ || draining()) return;
  drained_at_ = clock_.now();
  for (auto& [id, svc] : services_)
    if (svc.prober) svc.prober->stop();
  spdlog::info("drain: deregistering every service now; the daemon stays up until SIGTERM");
  apply_now();  // empty
  on_registry_state(registry_->state());
}

void Supervisor::shutdown(std::function<void(bool clean)> done) {
  if (stopping_) return;
  // From here on no probe result is looked at (on_result returns) and no pending apply runs, so
  // nothing re-registers. The registry goes first: stopping 1000 probers (cancelling their
  // Watch calls) takes about 100 ms of the event loop that deregistration need not wait for.
  stopping_ = true;
  apply_pending_ = false;
  // done() may drop the owner's last reference before shutdown() returns: hold one until then.
  const std::shared_ptr<Supervisor> self = shared_from_this();
  registry_->shutdown(manifest_.shutdown_timeout,
                      [weak = weak_from_this(), done = std::move(done)](bool clean) mutable {
                        if (const auto alive = weak.lock())
                          alive->after_deregistration(clean, std::move(done));
                      });
  for (auto& [id, svc] : services_)
    if (svc.prober) svc.prober->stop();
}

void Supervisor::after_deregistration(bool clean, std::function<void(bool clean)> done) {
  // `drain` is the time between deregistration and exit; after drain(), part of it has
  // passed already.
  auto wait = manifest_.drain;
  if (drained_at_) {
    const auto since = std::chrono::duration_cast<config::Duration>(clock_.now() - *drained_at_);
    wait = std::max(config::Duration{0}, wait - since);
  }
  if (wait.count() == 0) return done(clean);
  spdlog::info("draining for {} ms before exit", wait.count());
  drain_timer_.arm_after(wait, [clean, done = std::move(done)] { done(clean); });
}

}  // namespace registrar::supervisor
