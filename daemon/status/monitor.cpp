#include "status/monitor.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <set>

namespace registrar::status {

using namespace std::chrono_literals;

const char* to_string(Registration r) {
  switch (r) {
    case Registration::Registered:
      return "registered";
    case Registration::Pending:
      return "pending";
    case Registration::NotRegistered:
      return "not_registered";
  }
  return "not_registered";
}

const char* to_string(registry::Connectivity c) {
  switch (c) {
    case registry::Connectivity::Connecting:
      return "connecting";
    case registry::Connectivity::Up:
      return "up";
    case registry::Connectivity::Down:
      return "down";
  }
  return "down";
}

namespace {

// A prober that shows every result to the monitor on both sides of the supervisor: before it
// (so that the monitor's copy of rise/fall starts from the supervisor's verdict), and after it
// (so that what the supervisor made of it can be read).
class ObservedProber final : public probe::Prober {
 public:
  using Hook = std::function<void(const probe::Result&)>;
  ObservedProber(std::unique_ptr<probe::Prober> inner, Hook before, Hook after)
      : inner_(std::move(inner)), before_(std::move(before)), after_(std::move(after)) {}

  void start(Callback on_result) override {
    inner_->start([on_result = std::move(on_result), before = before_,
                   after = after_](const probe::Result& r) {
      before(r);
      on_result(r);
      after(r);
    });
  }
  void stop() override { inner_->stop(); }

 private:
  std::unique_ptr<probe::Prober> inner_;
  Hook before_;
  Hook after_;
};

// Rise/fall logic already in `healthy` state, with no streak.
probe::Hysteresis hysteresis_at(int rise, int fall, bool healthy) {
  probe::Hysteresis h(rise, fall);
  if (healthy)
    for (int i = 0; i < h.rise(); ++i) h.observe(true);
  return h;
}

}  // namespace

Monitor::Monitor(Key, boost::asio::any_io_executor executor, const runtime::Clock& clock,
                 metrics::DaemonMetrics& metrics, std::string registry_kind)
    : executor_(executor),
      timer_(executor, clock),
      spacing_timer_(executor, clock),
      clock_(clock),
      metrics_(metrics),
      registry_kind_(std::move(registry_kind)) {}

void Monitor::set_sources(StatusSource services, RegistrySource registry,
                          std::function<bool()> draining) {
  services_source_ = std::move(services);
  registry_source_ = std::move(registry);
  draining_source_ = std::move(draining);
}

supervisor::Supervisor::ProberFactory Monitor::wrap(supervisor::Supervisor::ProberFactory inner) {
  return
      [weak_monitor = weak_from_this(), inner = std::move(inner)](const config::ServiceSpec& spec) {
        std::unique_ptr<probe::Prober> prober = inner(spec);
        const auto self = weak_monitor.lock();
        if (!self) return prober;
        return self->observe(spec, std::move(prober));
      };
}

std::unique_ptr<probe::Prober> Monitor::observe(const config::ServiceSpec& spec,
                                                std::unique_ptr<probe::Prober> prober) {
  // A new prober for a known id (a reload changed the service): the supervisor keeps the
  // service's verdict, and so does the new track.
  bool healthy = false;
  if (auto old = tracks_.find(spec.id); old != tracks_.end()) healthy = old->second->healthy;
  auto track =
      std::make_shared<Track>(Track{spec,
                                    hysteresis_at(spec.probe.rise, spec.probe.fall, healthy),
                                    {},
                                    0,
                                    std::nullopt,
                                    healthy});
  tracks_[spec.id] = track;
  metrics_.service_healthy.with({spec.id}).set(healthy);
  std::weak_ptr<Track> weak = track;
  auto before = [weak_monitor = weak_from_this(), weak](const probe::Result& r) {
    const auto self = weak_monitor.lock();
    const auto t = weak.lock();
    if (self && t) self->on_result(t, r);
  };
  auto after = [weak_monitor = weak_from_this()](const probe::Result&) {
    // The first results decide the first registration pass: look in this event-loop turn (once
    // per burst of results), not at the next tick.
    const auto self = weak_monitor.lock();
    if (self && !self->first_pass_done_ && !self->stopping_) self->schedule_refresh();
  };
  return std::unique_ptr<probe::Prober>(
      std::make_unique<ObservedProber>(std::move(prober), before, after));
}

void Monitor::sync(Track& t, bool supervisor_healthy) {
  if (t.healthy == supervisor_healthy) return;
  // The supervisor changed its verdict without a probe result (a service registered by a
  // previous run starts healthy): follow it, without counting a transition.
  t.hysteresis = hysteresis_at(t.spec.probe.rise, t.spec.probe.fall, supervisor_healthy);
  t.healthy = supervisor_healthy;
  metrics_.service_healthy.with({t.spec.id}).set(supervisor_healthy);
}

void Monitor::on_result(const std::shared_ptr<Track>& t, const probe::Result& r) {
  if (stopping_ || draining_) return;  // the supervisor ignores results from here on, and so do we
  if (!first_pass_done_ && services_source_) {
    // At start-up only (it reads every service): the supervisor may have seeded verdicts.
    if (const auto healthy = supervisor_verdict(t->spec.id)) sync(*t, *healthy);
  }
  ++t->results;
  t->last = r;
  t->last_result_at = clock_.now();
  const std::string& id = t->spec.id;
  metrics_.probe_results.with({id, probe::to_string(r.outcome)}).inc();
  switch (t->hysteresis.observe(r.ok())) {
    case probe::Hysteresis::Change::None:
      break;
    case probe::Hysteresis::Change::BecameHealthy:
      metrics_.service_transitions.with({id, "healthy"}).inc();
      metrics_.service_healthy.with({id}).set(1);
      break;
    case probe::Hysteresis::Change::BecameUnhealthy:
      metrics_.service_transitions.with({id, "unhealthy"}).inc();
      metrics_.service_healthy.with({id}).set(0);
      break;
  }
  t->healthy = t->hysteresis.healthy();
  // The supervisor has just seen the same result and reached the same verdict.
  if (verdicts_) (*verdicts_)[id] = t->healthy;
}

std::optional<bool> Monitor::supervisor_verdict(const std::string& id) {
  if (!verdicts_) {
    verdicts_.emplace();
    for (const auto& st : services_source_()) verdicts_->emplace(st.id, st.healthy);
    schedule_refresh();  // which drops the copy
  }
  if (auto it = verdicts_->find(id); it != verdicts_->end()) return it->second;
  return std::nullopt;
}

runtime::Clock::time_point Monitor::next_refresh_allowed() const {
  return last_refresh_at_ + kRefreshSpacing * last_refresh_cost_;
}

void Monitor::schedule_refresh() {
  if (refresh_pending_) return;
  refresh_pending_ = true;
  if (const auto earliest = next_refresh_allowed(); clock_.now() < earliest) {
    spacing_timer_.arm_at(earliest, [this] {
      if (refresh_pending_) refresh();
    });
    return;
  }
  boost::asio::post(executor_, [weak = weak_from_this()] {
    const auto self = weak.lock();
    if (self && self->refresh_pending_) self->refresh();
  });
}

void Monitor::start() {
  if (started_) return;
  started_ = true;
  refresh();
  arm();
}

void Monitor::arm() {
  const runtime::Clock::duration period = first_pass_done_ ? 1s : 100ms;
  timer_.arm_after(std::max(period, kRefreshSpacing * last_refresh_cost_), [this] {
    refresh();
    arm();
  });
}

Snapshot Monitor::snapshot() const {
  Snapshot s;
  s.registry_kind = registry_kind_;
  s.now = clock_.now();
  s.draining = draining_;
  s.stopping = stopping_;
  if (registry_source_) s.registry = registry_source_();
  std::vector<supervisor::ServiceStatus> statuses;
  if (services_source_) statuses = services_source_();
  std::size_t unprobed = 0;
  std::size_t pending = 0;
  for (const auto& st : statuses) {
    ServiceView v;
    v.id = st.id;
    v.name = st.name;
    v.healthy = st.healthy;
    v.last_result = st.last_result;
    v.last_change_at = st.last_change;
    v.last_change_wall = st.last_change_wall;
    if (auto it = tracks_.find(st.id); it != tracks_.end()) {
      const Track& t = *it->second;
      v.address = t.spec.address;
      v.port = t.spec.port;
      v.probe_target = t.spec.probe.target;
      v.probe_service = t.spec.probe.service;
      v.results = t.results;
      v.probed = t.results > 0;
      v.last_result_at = t.last_result_at;
    }
    if (s.registry.registered_ids.contains(st.id)) {
      v.registration = Registration::Registered;
    } else if (st.healthy && !draining_ && !stopping_) {  // drained: nothing is to be written
      v.registration = Registration::Pending;
      ++pending;
    }
    if (v.probed && !v.last_result.ok()) {
      v.last_error = v.last_result.detail;
    } else if (v.registration == Registration::Pending) {
      v.last_error = s.registry.last_error;
    }
    if (!v.probed) ++unprobed;
    s.services.push_back(std::move(v));
  }

  const bool registry_down = s.registry.connectivity == registry::Connectivity::Down;
  const bool registry_up = s.registry.connectivity == registry::Connectivity::Up;
  // The registry answering with a refusal (a 403, a 4xx for a registration) also completes the
  // first pass: the daemon has started and says why it is not ready, and systemd's start does
  // not wait for an operator to fix an ACL.
  const bool refused = registry_up && pending > 0 && !s.registry.last_error.empty();
  s.first_pass_done =
      first_pass_done_ ||
      (unprobed == 0 && (registry_down || (registry_up && (pending == 0 || refused))));
  // A pass done with the registry down or refusing has not written everything: readiness also
  // waits until the registry holds every healthy service at once.
  s.registered_once = registered_once_ || (unprobed == 0 && registry_up && pending == 0);
  s.ready = s.first_pass_done && s.registered_once && registry_up && !draining_ && !stopping_;
  if (stopping_) {
    s.not_ready_reason = "stopping";
  } else if (draining_) {
    s.not_ready_reason = "draining: deregistered, waiting for SIGTERM";
  } else if (unprobed > 0 && !first_pass_done_) {
    s.not_ready_reason =
        "waiting for the first probe result of " + std::to_string(unprobed) + " service(s)";
  } else if (!registry_up) {
    s.not_ready_reason = std::string(registry_kind_) + " " + to_string(s.registry.connectivity);
    if (!s.registry.last_error.empty()) s.not_ready_reason += ": " + s.registry.last_error;
  } else if (!s.registered_once) {
    s.not_ready_reason = "registering " + std::to_string(pending) + " healthy service(s)";
    if (!s.registry.last_error.empty()) s.not_ready_reason += ": " + s.registry.last_error;
  }
  return s;
}

std::string Monitor::summary() const {
  return summary_of(snapshot());
}

std::string Monitor::summary_of(const Snapshot& s) {
  std::size_t healthy = 0;
  for (const auto& v : s.services) healthy += v.healthy ? 1 : 0;
  std::string out;
  if (s.stopping) out = "stopping; ";
  if (s.draining) out = "drained; ";
  out += std::to_string(healthy) + "/" + std::to_string(s.services.size()) + " healthy, " +
         std::to_string(s.registry.registered) + " registered in " + s.registry_kind + " (" +
         to_string(s.registry.connectivity);
  if (s.registry.connectivity == registry::Connectivity::Up)
    out += s.registry.in_sync ? ", in sync" : ", syncing";
  out += ")";
  if (s.registry.connectivity != registry::Connectivity::Up && !s.registry.last_error.empty())
    out += ": " + s.registry.last_error;
  return out;
}

void Monitor::refresh() {
  const auto started = clock_.now();
  refresh_pending_ = false;
  verdicts_.reset();
  if (draining_source_ && draining_source_()) draining_ = true;
  const Snapshot s = snapshot();
  if (s.first_pass_done) first_pass_done_ = true;
  if (s.registered_once) registered_once_ = true;
  std::set<std::string> listed;
  for (const auto& v : s.services) {
    listed.insert(v.id);
    metrics_.service_registered.with({v.id}).set(v.registration == Registration::Registered);
    if (auto it = tracks_.find(v.id); it != tracks_.end()) sync(*it->second, v.healthy);
  }
  // Services a reload removed: no longer healthy or registered here.
  for (auto it = tracks_.begin(); it != tracks_.end();) {
    if (services_source_ && !listed.contains(it->first)) {
      metrics_.service_healthy.with({it->first}).set(0);
      metrics_.service_registered.with({it->first}).set(0);
      it = tracks_.erase(it);
    } else {
      ++it;
    }
  }
  metrics_.registered_services.with().set(static_cast<double>(s.registry.registered));
  metrics_.registry_up.with().set(s.registry.connectivity == registry::Connectivity::Up);
  metrics_.registry_in_sync.with().set(s.registry.in_sync);
  metrics_.ready.with().set(s.ready);
  metrics_.draining.with().set(s.draining);
  if (on_change_) on_change_();
  last_refresh_at_ = started;
  last_refresh_cost_ = clock_.now() - started;
}

}  // namespace registrar::status
