#include "registry/consul/consul_registry.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "registry/common/bind_weak.hpp"
#include "registry/consul/consul_registry_internal.hpp"
#include "runtime/owner.hpp"

namespace registrar::registry::consul {

using std::chrono::milliseconds;

ConsulRegistry::ConsulRegistry(boost::asio::any_io_executor executor,
                               const config::RegistrySpec& spec,
                               std::unique_ptr<HttpTransport> transport,
                               const runtime::Clock& clock, runtime::Backoff::Random random,
                               Token::ReadFile read_file, metrics::RegistryObserver& observer)
    : spec_(spec),
      check_{spec.consul.check_ttl, spec.consul.deregister_critical_after},
      clock_(clock),
      meter_(observer, clock),
      transport_(std::move(transport)),
      token_(spec.consul, std::move(read_file)),
      connectivity_(state_, on_state_,
                    common::ConnectivityLog::Words{
                        [this] { return "Consul agent at " + transport_->endpoint(); },
                        [this] { return "Consul agent reachable at " + transport_->endpoint(); }},
                    [this](bool recovered) { on_connectivity_change(recovered); }),
      retry_(executor, clock, spec.backoff, std::move(random), [this] { reconcile(); }),
      loop_([this] { pass(); }, retry_),
      tick_(executor, clock),
      latch_(executor, clock) {
  if (spec_.consul.owner.empty()) spec_.consul.owner = runtime::default_owner("grpc-registrar");
  // Consul keeps at most 512 bytes of a Meta value.
  if (spec_.consul.owner.size() > 512) spec_.consul.owner.resize(512);
}

ConsulRegistry::~ConsulRegistry() = default;

void ConsulRegistry::start(StateCallback on_state_change) {
  on_state_ = std::move(on_state_change);
  if (std::string error = token_.load(); !error.empty()) {
    spdlog::warn("registry: {}; retrying when the agent refuses a request", error);
    token_error_ = error;
  }
  spdlog::info("registry: Consul agent at {}, ACL token: {}", transport_->endpoint(),
               token_.source());
  if (const config::TlsSpec& tls = spec_.consul.tls; tls.enabled) {
    if (tls.insecure_skip_verify) {
      spdlog::warn(
          "registry: TLS VERIFICATION IS OFF for the Consul agent (registry.consul.tls."
          "insecure_skip_verify or CONSUL_HTTP_SSL_VERIFY=false): anyone who can intercept the "
          "connection can read the ACL token and forge the agent's answers");
    } else {
      spdlog::info(
          "registry: HTTPS to the Consul agent: CA {}, verifying {}, client certificate {}",
          tls.ca_file.empty() ? "the system's CA store" : tls.ca_file,
          tls.server_name.empty() ? "the host of the address" : tls.server_name,
          tls.cert_file.empty() ? "none" : tls.cert_file);
    }
  }
  reconcile();
}

std::string ConsulRegistry::fingerprint_of(const Registration& reg) const {
  Registration r = reg;
  r.health = Health::Critical;
  r.output.clear();
  return register_body(r, weights_of(reg.id), spec_.consul.owner, check_);
}

std::optional<config::ConsulWeights> ConsulRegistry::weights_of(const std::string&) const {
  return spec_.consul.weights;
}

void ConsulRegistry::apply(const DesiredSet& desired) {
  if (loop_.stopped()) return;
  applied_ = true;
  const auto now = clock_.now();
  for (const auto& [id, reg] : desired) {
    Entry& e = entries_[id];
    if (e.desired && e.desired->health != reg.health) {
      e.push_now = true;  // a health change goes out at once, not at the next refresh
      e.changed_at = now;
    }
    e.fingerprint = fingerprint_of(reg);
    e.desired = reg;
    e.stale = false;
  }
  for (auto& [id, e] : entries_) {
    if (e.desired && !desired.contains(id)) {
      e.desired.reset();
      e.changed_at = now;
    }
  }
  update_sync_state();  // not in sync until the difference is written
  reconcile();
}

// One pass of the loop: nothing is in flight, no retry waits. Sends the most urgent request, or
// arms the timer for the next routine one.
void ConsulRegistry::pass() {
  if (!applied_) return;
  if (!swept_) return sweep();
  const auto now = clock_.now();
  if (next_urgent(now) || next_routine(now)) return;
  update_sync_state();
  arm_tick(now);
}

// Deregistrations, registrations and health changes: what makes the agent differ from the
// desired set. Returns true when a request was sent.
bool ConsulRegistry::next_urgent(time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    const std::string& id = it->first;
    Entry& e = it->second;
    if (!e.desired) {
      if (waiting(e, now)) {
        ++it;
        continue;
      }
      if (!e.foreign && (e.registered || e.attempted || e.stale)) {
        deregister(id);
        return true;
      }
      it = entries_.erase(it);
      continue;
    }
    ++it;
    if (e.foreign || waiting(e, now)) continue;
    if (e.reaped) {
      if (e.desired->health != Health::Passing) continue;
      e.reaped = false;
    }
    if (!e.registered || e.registered_fingerprint != e.fingerprint) {
      register_service(id);
      return true;
    }
    // Flapped back to what the agent already holds: nothing to push.
    if (e.push_now && e.pushed == e.desired->health) e.push_now = false;
    if (e.output_pending || e.push_now) {
      update_check(id);
      return true;
    }
  }
  return false;
}

// TTL refreshes, then reads of the registrations (reconcile_interval).
bool ConsulRegistry::next_routine(time_point now) {
  const auto refresh = refresh_interval(check_.ttl);
  for (auto& [id, e] : entries_) {
    if (!e.desired || e.foreign || e.reaped || !e.registered || waiting(e, now)) continue;
    if (now - e.refreshed_at >= refresh) {
      update_check(id);
      return true;
    }
  }
  const auto every = spec_.consul.reconcile_interval;
  if (every.count() == 0) return false;
  for (auto& [id, e] : entries_) {
    if (!e.desired || e.reaped || !(e.registered || e.foreign) || waiting(e, now)) continue;
    if (now - e.verified_at >= every) {
      verify(id);
      return true;
    }
  }
  return false;
}

void ConsulRegistry::arm_tick(time_point now) {
  std::optional<time_point> due;
  auto consider = [&due](time_point t) {
    if (!due || t < *due) due = t;
  };
  const auto refresh = refresh_interval(check_.ttl);
  const auto every = spec_.consul.reconcile_interval;
  for (const auto& [id, e] : entries_) {
    if (waiting(e, now)) {
      consider(*e.retry_at);
      continue;
    }
    if (!e.desired || e.reaped) continue;
    if (e.registered && !e.foreign) consider(e.refreshed_at + refresh);
    if (every.count() > 0 && (e.registered || e.foreign)) consider(e.verified_at + every);
  }
  if (!due) return tick_.cancel();
  const auto delay = std::max(milliseconds(1), std::chrono::ceil<milliseconds>(*due - now));
  tick_.arm_after(delay, [this] { reconcile(); });
}

void ConsulRegistry::send(const RequestKind& kind, Method method, std::string target,
                          std::string body, Completion on_done) {
  loop_.begin();
  tick_.cancel();       // the request's completion decides what comes next
  if (reload_token_) {  // the agent refused the token: a rotated token file is picked up now
    reload_token_ = false;
    log_reload_token();
  }
  transport_->send(HttpRequest{method, std::move(target), std::move(body), token_.value()},
                   common::bind_weak(this, &ConsulRegistry::on_answer, &kind, meter_.sent(),
                                     std::move(on_done)));
}

// Every answer to a request of the loop: its completion updates the state, then the next pass.
void ConsulRegistry::on_answer(const RequestKind* kind, time_point sent, const Completion& on_done,
                               HttpResult r) {
  if (loop_.stopped()) return;
  loop_.end();
  if (r.error == HttpResult::Error::Cancelled) return;
  observe(*kind, r, sent);
  on_done(std::move(r));
  reconcile();
}

void ConsulRegistry::observe(const RequestKind& kind, const HttpResult& r, time_point sent) {
  const bool ok = r.ok() || (kind.not_found_ok && r.answered() && r.status == 404);
  const auto latency = meter_.request(kind.name, ok, sent);
  if (kind.keepalive && ok) meter_.keepalive(latency);
}

void ConsulRegistry::on_success(bool was_write, const std::string& id) {
  if (was_write && !refusal_.empty()) {
    spdlog::info("registry: the Consul agent accepts our requests again");
    refusal_.clear();
  }
  if (auto it = entries_.find(id); was_write && it != entries_.end()) {
    Entry& e = it->second;
    if (!e.refusal.empty())
      spdlog::info("registry: the Consul agent accepts our requests for {} again", id);
    e.refusal.clear();
    e.retry_at.reset();
    if (e.backoff) e.backoff->reset();
  }
  if (refusal_.empty()) retry_.reset();
  reachable();
}

void ConsulRegistry::on_failure(const std::string& what, const HttpResult& r,
                                const std::string& id) {
  if (r.error == HttpResult::Error::Cancelled) return;
  if (!r.answered()) {
    unreachable(what + ": " + r.error_text, r.error_text);
    return retry_.later();
  }
  std::string message = what + ": " + token_.describe(r.status, r.body);
  if (r.status >= 500 || r.status == 429) {
    unreachable(message);
    return retry_.later();
  }
  if (r.status == 403) {
    message += " (ACL token: " + token_.source() + ")";
    reload_token_ = true;  // a rotated token file is picked up before the retry
  }
  refused(message, id);
}

void ConsulRegistry::on_unreadable(const std::string& what, HttpResult&& r, const std::string& why,
                                   const std::string& id) {
  r.status = 502;
  r.body = why;
  on_failure(what, r, id);
}

// The agent answers, but refuses: log once per distinct refusal, retry with growing backoff.
void ConsulRegistry::refused(const std::string& message, const std::string& id) {
  if (auto it = entries_.find(id); it != entries_.end()) {
    // Refused for this service only (an ACL policy without its name, say): it waits on its own
    // backoff while the others go on.
    Entry& e = it->second;
    if (message != e.refusal)
      spdlog::warn("registry: the Consul agent refused {}; retrying with backoff", message);
    e.refusal = message;
    if (!e.backoff) e.backoff.emplace(retry_.make_backoff());
    e.retry_at = clock_.now() + e.backoff->next();
    reachable();
    update_sync_state();
    return;
  }
  if (message != refusal_)
    spdlog::warn("registry: the Consul agent refused {}; retrying with backoff", message);
  refusal_ = message;
  reachable();
  retry_.later();
}

void ConsulRegistry::log_reload_token() {
  const std::string before = token_.value();
  std::string error = token_.load();
  if (error != token_error_) {
    if (!error.empty())
      spdlog::warn("registry: {}", error);
    else if (!token_error_.empty())
      spdlog::info("registry: the ACL token file is readable again");
  }
  token_error_ = error;
  if (error.empty() && token_.value() != before)
    spdlog::info("registry: the ACL token changed ({}); using the new one", token_.source());
}

// The agent answers; what still stands while it does (a refusal, a conflict) is the last error.
void ConsulRegistry::reachable() {
  connectivity_.set(Connectivity::Up, !refusal_.empty() ? refusal_ : conflict_);
}

void ConsulRegistry::unreachable(const std::string& error, const std::string& cause) {
  connectivity_.set(Connectivity::Down, error, cause);
}

void ConsulRegistry::on_connectivity_change(bool recovered) {
  if (recovered) {
    // Refreshes were missed meanwhile, and the agent may have restarted: refresh every check now
    // (an unknown check is registered again at once).
    const auto due = clock_.now() - refresh_interval(check_.ttl);
    for (auto& [id, e] : entries_) e.refreshed_at = std::min(e.refreshed_at, due);
  }
  update_sync_state();
}

void ConsulRegistry::update_sync_state() {
  bool in_sync = swept_;
  std::set<std::string> ids;
  conflict_.clear();
  for (const auto& [id, e] : entries_) {
    if (!e.refusal.empty() && conflict_.empty()) conflict_ = e.refusal;
  }
  for (const auto& [id, e] : entries_) {
    if (e.registered) ids.insert(id);
    if (e.desired && e.foreign && conflict_.empty())
      conflict_ = "service id " + id + " belongs to another owner in Consul";
    if (!e.desired) {
      if (!e.foreign && (e.registered || e.attempted || e.stale)) in_sync = false;
      continue;
    }
    if (e.reaped) continue;
    if (e.foreign || !e.registered || e.registered_fingerprint != e.fingerprint ||
        e.output_pending || e.pushed != e.desired->health)
      in_sync = false;
  }
  if (state_.connectivity != Connectivity::Down)
    state_.last_error = !refusal_.empty() ? refusal_ : conflict_;
  const bool changed = in_sync != state_.in_sync || ids != state_.registered_ids;
  state_.in_sync = in_sync;
  state_.registered = ids.size();
  state_.registered_ids = std::move(ids);
  if (changed && on_state_) on_state_(state_);
}

}  // namespace registrar::registry::consul
