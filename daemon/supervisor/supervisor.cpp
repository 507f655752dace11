#include "supervisor/supervisor.hpp"

#include <spdlog/spdlog.h>

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

}  // namespace

Supervisor::Supervisor(boost::asio::any_io_executor executor, config::Manifest manifest,
                       std::shared_ptr<registry::Registry> registry, ProberFactory make_prober,
                       const runtime::Clock& clock)
    : executor_(executor),
      manifest_(std::move(manifest)),
      registry_(std::move(registry)),
      make_prober_(std::move(make_prober)),
      clock_(clock),
      drain_timer_(executor) {
  for (const auto& spec : manifest_.services)
    services_.emplace(spec.id, Service{spec,
                                       probe::Hysteresis(spec.probe.rise, spec.probe.fall),
                                       nullptr,
                                       {},
                                       std::nullopt,
                                       false});
}

Supervisor::~Supervisor() {
  *alive_ = false;
  for (auto& [id, svc] : services_)
    if (svc.prober) svc.prober->stop();
}

void Supervisor::start() {
  registry_->start({});  // state is read from the registry when needed
  registry_->apply(desired());
  for (auto& [id, svc] : services_) {
    svc.prober = make_prober_(svc.spec);
    svc.prober->start([this, alive = alive_, id = id](const probe::Result& r) {
      if (*alive) on_result(id, r);
    });
  }
  spdlog::info("supervisor: probing {} service(s)", services_.size());
}

void Supervisor::on_result(const std::string& id, const probe::Result& result) {
  if (stopping_) return;
  auto it = services_.find(id);
  if (it == services_.end()) return;
  Service& svc = it->second;
  if (result.outcome != svc.last_result.outcome) spdlog::debug("probe: {} {}", id, result.detail);
  svc.last_result = result;
  svc.probed = true;
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
  svc.last_change = clock_.now();
  registry_->apply(desired());
}

registry::DesiredSet Supervisor::desired() const {
  registry::DesiredSet set;
  if (stopping_) return set;
  for (const auto& [id, svc] : services_)
    set.emplace(id,
                to_registration(svc.spec, svc.hysteresis.healthy(), svc.last_result, svc.probed));
  return set;
}

std::vector<ServiceStatus> Supervisor::status() const {
  std::vector<ServiceStatus> out;
  for (const auto& [id, svc] : services_)
    out.push_back({id, svc.spec.name, svc.hysteresis.healthy(), svc.last_result, svc.last_change});
  return out;
}

void Supervisor::shutdown(std::function<void(bool clean)> done) {
  if (stopping_) return;
  stopping_ = true;
  // Probers first: nothing they report may re-register anything from here on.
  for (auto& [id, svc] : services_)
    if (svc.prober) svc.prober->stop();
  registry_->shutdown(manifest_.shutdown_timeout, [this, alive = alive_,
                                                   done = std::move(done)](bool clean) mutable {
    if (!*alive) return;
    if (manifest_.drain.count() == 0) return done(clean);
    spdlog::info("draining for {} ms before exit", manifest_.drain.count());
    drain_timer_.expires_after(manifest_.drain);
    drain_timer_.async_wait(
        [clean, done = std::move(done)](const boost::system::error_code&) { done(clean); });
  });
}

}  // namespace registrar::supervisor
