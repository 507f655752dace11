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

namespace {

// Equal but for the health and the probe's output: the same registration in the agent.
bool same_registration(const Registration& a, const Registration& b) {
  return a.name == b.name && a.id == b.id && a.address == b.address && a.port == b.port &&
         a.tags == b.tags && a.meta == b.meta;
}

}  // namespace

// O(N) in the desired set handed over (once per supervisor turn, not per agent answer); the
// fingerprint (a register body) is rendered only for a registration that changed.
void ConsulRegistry::apply(const DesiredSet& desired) {
  if (loop_.stopped()) return;
  applied_ = true;
  const auto now = clock_.now();
  for (const auto& [id, reg] : desired) {
    Entry& e = entries_[id];
    if (e.desired && *e.desired == reg && !e.stale) continue;  // unchanged
    if (e.desired && e.desired->health != reg.health) {
      e.push_now = true;  // a health change goes out at once, not at the next refresh
      e.changed_at = now;
    }
    if (!e.desired || !same_registration(*e.desired, reg)) e.fingerprint = fingerprint_of(reg);
    e.desired = reg;
    e.stale = false;
    touch(id);
  }
  for (auto& [id, e] : entries_) {
    if (e.desired && !desired.contains(id)) {
      e.desired.reset();
      e.changed_at = now;
      touch(id);
    }
  }
  publish_state();  // not in sync until the difference is written
  reconcile();
}

// One pass of the loop: nothing is in flight, no retry waits. Sends what the first due entry
// needs (deregistrations, registrations and health changes are due at once; TTL refreshes and
// read-backs when their time comes), or arms the timer for the next due time.
void ConsulRegistry::pass() {
  if (!applied_) return;
  if (!swept_) return sweep();
  const auto now = clock_.now();
  if (act_on_due(now)) return;
  publish_state();
  arm_tick(now);
}

void ConsulRegistry::send(const RequestKind& kind, Method method, std::string target,
                          std::string body, const std::string& id, Completion on_done) {
  loop_.begin();
  tick_.cancel();       // the request's completion decides what comes next
  if (reload_token_) {  // the agent refused the token: a rotated token file is picked up now
    reload_token_ = false;
    log_reload_token();
  }
  transport_->send(agent_request(method, std::move(target), std::move(body), token_.value()),
                   common::bind_weak(this, &ConsulRegistry::on_answer, &kind, meter_.sent(), id,
                                     std::move(on_done)));
}

// Every answer to a request of the loop: its completion updates the state, then the next pass.
void ConsulRegistry::on_answer(const RequestKind* kind, time_point sent, const std::string& id,
                               const Completion& on_done, HttpResult r) {
  if (loop_.stopped()) return;
  loop_.end();
  if (r.error == HttpResult::Error::Cancelled) return;
  observe(*kind, r, sent);
  on_done(std::move(r));
  if (!id.empty()) touch(id);
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
    refused_ids_.erase(id);
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
    return retry_within_ttl();
  }
  std::string message = what + ": " + token_.describe(r.status, r.body);
  if (r.status >= 500 || r.status == 429) {
    // The agent answers, so it is not unreachable; it fails (a 5xx: its servers have no leader,
    // an internal error) or limits our rate (429). Either way nothing we sent was applied.
    unreachable(
        message, "",
        r.status == 429 ? "limiting our request rate (429)" : "answering with server errors");
    return retry_within_ttl();
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
    refused_ids_.insert(id);
    reachable();
    publish_state();
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

void ConsulRegistry::unreachable(const std::string& error, const std::string& cause,
                                 const std::string& condition) {
  connectivity_.set(Connectivity::Down, error, cause, condition);
}

void ConsulRegistry::on_connectivity_change(bool recovered) {
  if (recovered) {
    // Refreshes were missed meanwhile, and the agent may have restarted: refresh every check now
    // (an unknown check is registered again at once). Once per outage, so O(N log N) is fine.
    const auto due = clock_.now() - refresh_interval(check_.ttl);
    for (auto& [id, e] : entries_) e.refreshed_at = std::min(e.refreshed_at, due);
    touch_all();
  }
  publish_state();
}

}  // namespace registrar::registry::consul
