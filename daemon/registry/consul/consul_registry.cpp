#include "registry/consul/consul_registry.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "runtime/owner.hpp"

namespace registrar::registry::consul {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::string services(std::size_t n) {
  return fmt::format("{} {}", n, n == 1 ? "service" : "services");
}

long long ms_since(runtime::Clock::time_point t, runtime::Clock::time_point now) {
  return duration_cast<milliseconds>(now - t).count();
}

}  // namespace

// Each request the backend sends, as metrics name it (the `kind` label).
struct RequestKind {
  const char* name;
  bool not_found_ok = false;  // 404 is the wanted outcome (deregistering what is gone)
  bool keepalive = false;     // resets a TTL check: its round trip is a keepalive latency
};

namespace {

const RequestKind kServicesList{"services_list"};
const RequestKind kChecksList{"checks_list"};
const RequestKind kRegister{"register"};
const RequestKind kCheckUpdate{"check_update", false, true};
const RequestKind kServiceGet{"service_get"};
const RequestKind kDeregister{"deregister", true};

}  // namespace

ConsulRegistry::ConsulRegistry(boost::asio::any_io_executor executor,
                               const config::RegistrySpec& spec,
                               std::unique_ptr<HttpTransport> transport,
                               const runtime::Clock& clock, runtime::Backoff::Random random,
                               Token::ReadFile read_file, metrics::RegistryObserver& observer)
    : executor_(executor),
      spec_(spec),
      check_{spec.consul.check_ttl, spec.consul.deregister_critical_after},
      clock_(clock),
      observer_(observer),
      transport_(std::move(transport)),
      token_(spec.consul, std::move(read_file)),
      random_(std::move(random)),
      backoff_(spec.backoff.initial, spec.backoff.max, spec.backoff.multiplier, spec.backoff.jitter,
               random_),
      tick_timer_(executor),
      retry_timer_(executor),
      shutdown_timer_(executor) {
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
  if (shutting_down_) return;
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

void ConsulRegistry::reconcile() {
  if (shutting_down_ || busy_ || retry_pending_ || !applied_) return;
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
  const auto generation = ++tick_generation_;
  if (!due) {
    tick_timer_.cancel();
    return;
  }
  const auto delay = std::max(milliseconds(1), std::chrono::ceil<milliseconds>(*due - now));
  tick_timer_.expires_after(delay);
  tick_timer_.async_wait(
      [self = weak_from_this(), generation](const boost::system::error_code& ec) {
        auto s = self.lock();
        if (s && !ec && generation == s->tick_generation_) s->reconcile();
      });
}

void ConsulRegistry::send(const RequestKind& kind, Method method, std::string target,
                          std::string body,
                          std::function<void(ConsulRegistry&, HttpResult&&)> on_done) {
  busy_ = true;
  ++tick_generation_;   // the request's completion decides what comes next
  if (reload_token_) {  // the agent refused the token: a rotated token file is picked up now
    reload_token_ = false;
    log_reload_token();
  }
  transport_->send(HttpRequest{method, std::move(target), std::move(body), token_.value()},
                   [self = weak_from_this(), on_done = std::move(on_done), kind = &kind,
                    sent = clock_.now()](HttpResult r) {
                     auto s = self.lock();
                     if (!s || s->shutting_down_) return;
                     s->busy_ = false;
                     if (r.error == HttpResult::Error::Cancelled) return;
                     s->observe(*kind, r, sent);
                     on_done(*s, std::move(r));
                     s->reconcile();
                   });
}

void ConsulRegistry::observe(const RequestKind& kind, const HttpResult& r, time_point sent) {
  const auto latency = clock_.now() - sent;
  const bool ok = r.ok() || (kind.not_found_ok && r.answered() && r.status == 404);
  observer_.request(kind.name, ok, latency);
  if (kind.keepalive && ok) observer_.keepalive_latency(latency);
}

// At start: which services in the agent are ours. Ours that the manifest no longer names are
// stale (left by a crash, or by a manifest change while we were down) and are deregistered;
// ours that are still wanted and unchanged are kept as they are (no write); a wanted id that
// belongs to someone else is left alone.
void ConsulRegistry::sweep() {
  send(kServicesList, Method::Get, kServicesTarget, "", [](ConsulRegistry& s, HttpResult&& r) {
    if (!r.ok()) return s.on_failure("listing the agent's services", r);
    std::string why;
    auto listed = parse_services(r.body, why);
    if (!listed) {
      r.status = 502;
      r.body = why;
      return s.on_failure("listing the agent's services", r);
    }
    std::map<std::string, AgentService> ours;
    std::size_t stale = 0;
    for (auto& [id, svc] : *listed) {
      const bool mine = owned_by(svc, s.spec_.consul.owner);
      auto it = s.entries_.find(id);
      const bool wanted = it != s.entries_.end() && it->second.desired;
      if (mine && !wanted) {
        s.entries_[id].stale = true;
        ++stale;
      } else if (mine) {
        ours.emplace(id, std::move(svc));
      } else if (wanted) {
        it->second.foreign = true;
        it->second.verified_at = s.clock_.now();
        auto by = svc.meta.find(kOwnerKey);
        const std::string other = by != svc.meta.end()
                                      ? "grpc-registrar-owner \"" + by->second + "\""
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
    s.on_success(false);
    if (ours.empty()) {
      s.swept_ = true;
      return;
    }
    s.adopt(std::move(ours));
  });
}

// Ours and still wanted: keep the registration if it is exactly what we would write (service
// fields, and our check with the same Notes, i.e. the same TTL settings), so that a restart of
// the daemon writes nothing and clients see no change.
void ConsulRegistry::adopt(std::map<std::string, AgentService> ours) {
  send(kChecksList, Method::Get, kChecksTarget, "",
       [ours = std::move(ours)](ConsulRegistry& s, HttpResult&& r) {
         if (!r.ok()) return s.on_failure("listing the agent's checks", r);
         std::string why;
         auto checks = parse_checks(r.body, why);
         if (!checks) {
           r.status = 502;
           r.body = why;
           return s.on_failure("listing the agent's checks", r);
         }
         const auto now = s.clock_.now();
         std::size_t kept = 0;
         std::set<std::string> inherited;
         for (const auto& [id, svc] : ours) {
           auto it = s.entries_.find(id);
           if (it == s.entries_.end() || !it->second.desired) continue;
           Entry& e = it->second;
           e.attempted = true;  // it is in the agent: ours to deregister at shutdown
           auto c = checks->find(check_id(id));
           const bool same = same_service(svc, expected_service(*e.desired, s.weights_of(id),
                                                                s.spec_.consul.owner)) &&
                             c != checks->end() && c->second.service_id == id &&
                             c->second.notes == check_notes(s.check_);
           if (!same) continue;  // registered again (an overwrite)
           e.registered = true;
           e.registered_fingerprint = e.fingerprint;
           e.pushed = parse_health(c->second.status);
           e.refreshed_at = e.verified_at = now;
           if (e.pushed == Health::Critical) e.critical_since = now;
           if (e.pushed == Health::Passing) inherited.insert(id);
           ++kept;
         }
         if (kept > 0)
           spdlog::info(
               "registry: {} of this daemon already in Consul, unchanged; kept as they are "
               "({} passing)",
               services(kept), inherited.size());
         s.swept_ = true;
         s.on_success(false);
         // The supervisor starts these healthy, so that a restart of the daemon leaves no gap;
         // their probes decide from there (the next refresh pushes what they say).
         if (!inherited.empty()) {
           s.state_.inherited_ids = std::move(inherited);
           if (s.on_state_) s.on_state_(s.state_);
         }
       });
}

void ConsulRegistry::register_service(const std::string& id) {
  Entry& e = entries_.at(id);
  const Registration reg = *e.desired;
  e.attempted = true;
  send(kRegister, Method::Put, register_target(),
       register_body(reg, weights_of(id), spec_.consul.owner, check_),
       [id, fingerprint = e.fingerprint, health = reg.health](ConsulRegistry& s, HttpResult&& r) {
         if (!r.ok()) return s.on_failure("registering " + id, r, id);
         auto it = s.entries_.find(id);
         if (it == s.entries_.end()) return s.on_success(true);
         Entry& e = it->second;
         const auto now = s.clock_.now();
         e.registered = true;
         e.registered_fingerprint = fingerprint;
         e.pushed = health;
         e.output_pending = true;  // then push the probe's Output
         e.refreshed_at = e.verified_at = now;
         if (e.lost) {  // the agent had lost it: registered again
           e.lost = false;
           s.observer_.lease_regrant();
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
         s.on_success(true, id);
       });
}

void ConsulRegistry::update_check(const std::string& id) {
  Entry& e = entries_.at(id);
  const Health health = e.desired->health;
  const std::string output = e.desired->output;
  send(kCheckUpdate, Method::Put, update_target(id), update_body(health, output),
       [id, health](ConsulRegistry& s, HttpResult&& r) {
         if (r.answered() && check_unknown(r.status, r.body))
           return s.lost(id,
                         "the agent answered " + s.token_.scrub(describe_answer(r.status, r.body)));
         if (!r.ok()) return s.on_failure("updating check " + check_id(id), r, id);
         auto it = s.entries_.find(id);
         if (it == s.entries_.end()) return s.on_success(true);
         Entry& e = it->second;
         const auto now = s.clock_.now();
         const bool changed = e.pushed != health;
         s.state_.inherited_ids.erase(id);  // its probes decide from now on
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
         if (changed) {
           if (e.changed_at && e.desired && e.desired->health == health)
             spdlog::info("registry: {} check {} {} ms after probe result", id, to_string(health),
                          ms_since(*e.changed_at, now));
           else
             spdlog::info("registry: {} check {}", id, to_string(health));
         }
         if (e.changed_at && e.desired && e.desired->health == health) e.changed_at.reset();
         s.on_success(true, id);
       });
}

// Reconcile: does the agent still hold what we registered?
void ConsulRegistry::verify(const std::string& id) {
  send(kServiceGet, Method::Get, service_target(id), "", [id](ConsulRegistry& s, HttpResult&& r) {
    auto it = s.entries_.find(id);
    if (it == s.entries_.end()) return;
    Entry& e = it->second;
    const auto now = s.clock_.now();
    if (r.answered() && r.status == 404) {
      e.verified_at = now;
      s.on_success(false);
      if (e.foreign) {
        e.foreign = false;
        spdlog::info("registry: service id {} no longer belongs to another owner; registering it",
                     id);
        return;
      }
      return s.lost(id, "GET " + service_target(id) + " answered 404");
    }
    if (!r.ok()) return s.on_failure("reading service " + id, r, id);
    std::string why;
    auto svc = parse_service(r.body, why);
    if (!svc) {
      r.status = 502;
      r.body = why;
      return s.on_failure("reading service " + id, r, id);
    }
    e.verified_at = now;
    s.on_success(false);
    if (!owned_by(*svc, s.spec_.consul.owner)) {
      if (!e.foreign) {
        spdlog::warn(
            "registry: service id {} in Consul was registered again by another owner; "
            "leaving it alone until it goes away",
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
        !same_service(*svc, expected_service(*e.desired, s.weights_of(id), s.spec_.consul.owner))) {
      spdlog::warn(
          "registry: {} in the Consul agent differs from the manifest's registration; "
          "registering it again",
          id);
      e.registered = false;
    }
  });
}

void ConsulRegistry::deregister(const std::string& id) {
  send(kDeregister, Method::Put, deregister_target(id), "",
       [id](ConsulRegistry& s, HttpResult&& r) {
         if (!(r.ok() || (r.answered() && r.status == 404)))
           return s.on_failure("deregistering " + id, r, id);
         s.on_success(true, id);
         auto it = s.entries_.find(id);
         if (it != s.entries_.end()) {
           Entry& e = it->second;
           if (e.stale)
             spdlog::info(
                 "registry: removed stale service {} (registered by this daemon, not in the "
                 "manifest)",
                 id);
           else if (e.changed_at)
             spdlog::info("registry: {} deregistered {} ms after it left the desired set", id,
                          ms_since(*e.changed_at, s.clock_.now()));
           else
             spdlog::info("registry: {} deregistered", id);
           if (e.desired) {
             e.registered = e.attempted = e.stale = e.lost = false;
             e.pushed.reset();
           } else {
             s.entries_.erase(it);
           }
         }
       });
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
  if (refusal_.empty()) backoff_.reset();
  set_connectivity(Connectivity::Up, "");
}

void ConsulRegistry::on_failure(const std::string& what, const HttpResult& r,
                                const std::string& id) {
  if (r.error == HttpResult::Error::Cancelled) return;
  if (!r.answered()) {
    set_connectivity(Connectivity::Down, what + ": " + r.error_text, r.error_text);
    return retry_later();
  }
  std::string message = what + ": " + token_.scrub(describe_answer(r.status, r.body));
  if (r.status >= 500 || r.status == 429) {
    set_connectivity(Connectivity::Down, message);
    return retry_later();
  }
  // The agent answers, but refuses: log once per distinct refusal, retry with growing backoff.
  if (r.status == 403) {
    message += " (ACL token: " + token_.source() + ")";
    reload_token_ = true;  // a rotated token file is picked up before the retry
  }
  if (auto it = entries_.find(id); it != entries_.end()) {
    // Refused for this service only (an ACL policy without its name, say): it waits on its own
    // backoff while the others go on.
    Entry& e = it->second;
    if (message != e.refusal)
      spdlog::warn("registry: the Consul agent refused {}; retrying with backoff", message);
    e.refusal = message;
    if (!e.backoff)
      e.backoff.emplace(spec_.backoff.initial, spec_.backoff.max, spec_.backoff.multiplier,
                        spec_.backoff.jitter, random_);
    e.retry_at = clock_.now() + e.backoff->next();
    set_connectivity(Connectivity::Up, "");
    update_sync_state();
    return;
  }
  if (message != refusal_)
    spdlog::warn("registry: the Consul agent refused {}; retrying with backoff", message);
  refusal_ = message;
  set_connectivity(Connectivity::Up, "");
  retry_later();
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

void ConsulRegistry::retry_later() {
  if (retry_pending_ || shutting_down_) return;
  retry_pending_ = true;
  retry_timer_.expires_after(backoff_.next());
  retry_timer_.async_wait([self = weak_from_this()](const boost::system::error_code& ec) {
    auto s = self.lock();
    if (!s || ec) return;
    s->retry_pending_ = false;
    s->reconcile();
  });
}

void ConsulRegistry::set_connectivity(Connectivity c, const std::string& error,
                                      const std::string& cause) {
  const bool changed = c != state_.connectivity;
  const bool recovered = changed && state_.connectivity == Connectivity::Down;
  state_.connectivity = c;
  if (c == Connectivity::Down)
    state_.last_error = error;
  else
    state_.last_error = !refusal_.empty() ? refusal_ : conflict_;
  if (c != Connectivity::Down) down_causes_.clear();
  if (!changed) {
    // Still down, for a reason not told yet in this outage (refused, then a TLS handshake
    // failure, say): news worth one line. A cause seen before is not, so that an agent failing
    // two ways by turns does not log every retry; the list is bounded.
    if (c == Connectivity::Down && !cause.empty() && down_causes_.size() < kMaxDownCauses &&
        std::find(down_causes_.begin(), down_causes_.end(), cause) == down_causes_.end()) {
      down_causes_.push_back(cause);
      spdlog::warn("registry: Consul agent at {} still unreachable, now: {}; retrying with backoff",
                   transport_->endpoint(), error);
    }
    return;
  }
  if (c == Connectivity::Down && !cause.empty()) down_causes_.assign(1, cause);
  if (c == Connectivity::Down)
    spdlog::warn("registry: Consul agent at {} unreachable ({}); retrying with backoff",
                 transport_->endpoint(), error);
  else if (c == Connectivity::Up)
    spdlog::info("registry: Consul agent reachable at {}", transport_->endpoint());
  if (recovered) {
    // Refreshes were missed meanwhile, and the agent may have restarted: refresh every check now
    // (an unknown check is registered again at once).
    const auto due = clock_.now() - refresh_interval(check_.ttl);
    for (auto& [id, e] : entries_) e.refreshed_at = std::min(e.refreshed_at, due);
  }
  update_sync_state();
  if (on_state_) on_state_(state_);
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

// Deregisters every service this daemon may have in the agent (never another owner's), one
// request after another on the kept-alive connection. An unreachable agent is retried every
// 100 ms until `timeout`; what is left then goes critical after the check TTL and is reaped
// after deregister_critical_after.
void ConsulRegistry::shutdown(std::chrono::milliseconds timeout, DoneCallback done) {
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  retry_timer_.cancel();
  ++tick_generation_;
  tick_timer_.cancel();
  transport_->cancel_all();
  busy_ = false;

  std::vector<std::string> ids;
  for (const auto& [id, e] : entries_)
    if (!e.foreign && (e.registered || e.attempted || e.stale)) ids.push_back(id);
  if (ids.empty()) {
    spdlog::info("registry: nothing registered in Consul, nothing to deregister");
    return boost::asio::post(executor_, [self = weak_from_this()] {
      if (auto s = self.lock()) s->finish_shutdown(true);
    });
  }
  spdlog::info("registry: deregistering {} from the Consul agent", services(ids.size()));
  shutdown_timer_.expires_after(timeout);
  shutdown_timer_.async_wait([self = weak_from_this()](const boost::system::error_code& ec) {
    auto s = self.lock();
    if (!s || ec) return;
    spdlog::warn(
        "registry: deregistration did not finish in time; what is left goes critical after the "
        "check TTL ({}) and Consul removes it after {}",
        go_duration(s->check_.ttl), go_duration(s->check_.deregister_critical_after));
    s->finish_shutdown(false);
  });
  shutdown_pending_ = ids.size();
  for (const auto& id : ids) deregister_for_shutdown(id);
}

void ConsulRegistry::deregister_for_shutdown(const std::string& id) {
  transport_->send(HttpRequest{Method::Put, deregister_target(id), "", token_.value()},
                   [self = weak_from_this(), id, sent = clock_.now()](HttpResult r) {
                     auto s = self.lock();
                     if (!s || !s->shutdown_done_ || r.error == HttpResult::Error::Cancelled)
                       return;
                     s->observe(kDeregister, r, sent);
                     if (!r.answered() || r.status >= 500 || r.status == 429) {
                       auto timer = std::make_shared<boost::asio::steady_timer>(s->executor_,
                                                                                milliseconds(100));
                       timer->async_wait([self, id, timer](const boost::system::error_code& ec) {
                         if (auto s2 = self.lock(); s2 && !ec && s2->shutdown_done_)
                           s2->deregister_for_shutdown(id);
                       });
                       return;
                     }
                     if (r.ok() || r.status == 404) {  // 404: already gone, which is what we want
                       if (auto it = s->entries_.find(id); it != s->entries_.end()) {
                         it->second.registered = it->second.attempted = it->second.stale = false;
                       }
                     } else {
                       spdlog::warn("registry: the Consul agent refused deregistering {}: {}", id,
                                    s->token_.scrub(describe_answer(r.status, r.body)));
                       s->shutdown_clean_ = false;
                     }
                     if (--s->shutdown_pending_ == 0) s->finish_shutdown(s->shutdown_clean_);
                   });
}

void ConsulRegistry::finish_shutdown(bool clean) {
  if (!shutdown_done_) return;
  shutdown_timer_.cancel();
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  std::set<std::string> left;
  for (const auto& [id, e] : entries_)
    if (e.registered) left.insert(id);
  state_.registered = left.size();
  state_.registered_ids = std::move(left);
  state_.in_sync = false;
  if (clean) spdlog::info("registry: all services deregistered from the Consul agent");
  transport_->cancel_all();
  done(clean);
}

}  // namespace registrar::registry::consul
