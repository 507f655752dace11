#include "registry/nacos/nacos_registry.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "registry/common/bind_weak.hpp"

namespace registrar::registry::nacos {

using namespace std::chrono_literals;

NacosRegistry::NacosRegistry(boost::asio::any_io_executor executor,
                             const config::RegistrySpec& spec,
                             std::vector<std::unique_ptr<HttpTransport>> servers,
                             const runtime::Clock& clock, runtime::Backoff::Random random,
                             Login::ReadFile read_file, metrics::RegistryObserver& observer)
    : spec_(spec.nacos),
      clock_(clock),
      meter_(observer, clock),
      servers_(std::move(servers)),
      login_(spec_, std::move(read_file)),
      connectivity_(state_, on_state_,
                    common::ConnectivityLog::Words{
                        [this] { return "Nacos server at " + server().endpoint(); },
                        [this] { return "Nacos server reachable at " + server().endpoint(); }}),
      retry_(executor, clock, spec.backoff, std::move(random), [this] { reconcile(); }),
      loop_([this] { pass(); }, retry_),
      tick_(executor, clock),
      latch_(executor, clock) {
  if (servers_.empty()) throw std::invalid_argument("registry.nacos: no server");
}

NacosRegistry::~NacosRegistry() = default;

void NacosRegistry::start(StateCallback on_state_change) {
  on_state_ = std::move(on_state_change);
  std::string servers;
  for (const auto& s : servers_) servers += (servers.empty() ? "" : ", ") + s->endpoint();
  spdlog::info("registry: Nacos servers {} (in this order), namespace {}, group {}, cluster {}, {}",
               servers, spec_.namespace_id, spec_.group, spec_.cluster,
               login_.enabled()
                   ? "login as " + login_.username() + ", password from " + login_.source()
                   : std::string("no login"));
  if (spec_.tls.enabled) {
    spdlog::info("registry: HTTPS to the Nacos servers: CA {}, client certificate {}",
                 spec_.tls.ca_file.empty() ? "the system's CA store" : spec_.tls.ca_file,
                 spec_.tls.cert_file.empty() ? "none" : spec_.tls.cert_file);
  }
  reconcile();
}

namespace {

// Equal as Nacos stores them: the health and the probe's output are not part of an instance.
bool same_registration(const Registration& a, const Registration& b) {
  return same_instance(a, b) && a.meta == b.meta;
}

}  // namespace

// Only healthy services are wanted in Nacos; an unhealthy one is deregistered.
void NacosRegistry::apply(const DesiredSet& desired) {
  if (loop_.stopped()) return;
  for (const auto& [id, reg] : desired) {
    Entry& e = entries_[id];
    const bool wanted = reg.health == Health::Passing;
    if (wanted && e.desired && same_registration(*e.desired, reg)) continue;
    if (!wanted && !e.desired) continue;
    if (wanted) {
      e.desired = reg;
    } else {
      e.desired.reset();
    }
    e.retry_at.reset();
    e.backoff.reset();
    touch(id);
  }
  // touch() may forget an entry (erase it from entries_): collect first, then touch.
  std::vector<std::string> removed;
  for (auto& [id, e] : entries_) {
    if (e.desired && !desired.contains(id)) {
      e.desired.reset();
      e.retry_at.reset();
      removed.push_back(id);
    }
  }
  for (const auto& id : removed) touch(id);
  publish_state();
  reconcile();
}

NacosRegistry::Plan NacosRegistry::plan(const Entry& e) const {
  const time_point now = clock_.now();
  const time_point at = e.retry_at.value_or(now);
  if (!e.desired && !e.written) return {Action::Forget, now};
  if (!e.desired) return {Action::Deregister, at};
  if (e.written && !same_instance(*e.written, *e.desired)) return {Action::Deregister, at};
  if (!e.written || !e.confirmed || !same_registration(*e.written, *e.desired))
    return {Action::Register, at};
  return {Action::Beat, e.beat_due};
}

// Re-plans `id` after its entry changed: its due time, sync and registered bookkeeping.
void NacosRegistry::touch(const std::string& id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  const Entry& e = it->second;
  const Plan p = plan(e);
  if (p.action == Action::Forget) {
    due_.remove(id);
    beaten_.remove(id);
    book_.forget(id);
    entries_.erase(it);
    return;
  }
  due_.schedule(id, p.at);
  const bool registered = e.written && e.confirmed;
  if (!registered) beaten_.remove(id);
  book_.record(id, registered, p.action == Action::Beat);
}

// Calls the state callback only on a change (ConnectivityLog calls it on its own changes), so
// that beats answered as usual cost the supervisor nothing. With nothing to register there is
// nothing to send, and nothing to wait for: in sync.
void NacosRegistry::publish_state() {
  const bool in_sync = book_.all_synced() && refusal_.empty() &&
                       (connectivity_.current() == Connectivity::Up || entries_.empty());
  // O(1) per answer: touch() records each entry in the book (common::SyncBook) instead of a compare
  // of the whole set (9 % of the daemon's CPU at N = 1000: docs/benchmarks.md, figure 8).
  if (book_.publish(in_sync) && on_state_) on_state_(state_);
}

// Sends what the first due entry needs (a login first when one is due); otherwise waits for the
// earliest due time.
void NacosRegistry::pass() {
  const time_point now = clock_.now();
  if (login_.due(now) && !entries_.empty()) return login();
  const auto next = due_.earliest();
  if (!next) return;
  if (next->first > now) return arm_tick(next->first);
  const std::string id = next->second;
  switch (plan(entries_.at(id)).action) {
    case Action::Register:
      return register_instance(id);
    case Action::Deregister:
      return deregister(id);
    case Action::Beat:
      return beat(id);
    case Action::Forget:
    case Action::None:
      touch(id);
      return reconcile();
  }
}

void NacosRegistry::arm_tick(time_point at) {
  tick_.arm_at(at, [this] { reconcile(); });
}

void NacosRegistry::send(std::string_view kind, http::HttpRequest req, const std::string& id,
                         Completion on_done) {
  loop_.begin();
  server().send(std::move(req), common::bind_weak(this, &NacosRegistry::on_answer, kind,
                                                  meter_.sent(), id, on_done));
}

void NacosRegistry::on_answer(std::string_view kind, time_point sent, const std::string& id,
                              Completion on_done, HttpResult r) {
  if (loop_.stopped() || r.error == HttpResult::Error::Cancelled) return;
  loop_.end();
  meter_.request(kind, r.ok(), sent);
  if (kind == "beat" && r.ok()) meter_.keepalive_since(sent);
  if (!r.answered() || r.status >= 500 || r.status == 429) {
    on_server_failure(std::string(kind), r);
  } else if (r.status == 403 && kind != "login") {  // a login's 403: wrong credentials
    on_forbidden(std::string(kind), r);
  } else {
    (this->*on_done)(id, std::move(r));
  }
  publish_state();
  reconcile();
}

void NacosRegistry::reachable() {
  failures_in_a_row_ = 0;
  retry_.reset();
  connectivity_.set(Connectivity::Up, refusal_);
}

// The next server takes over at once while some server in the list has not failed in this
// round; once all have, the retry waits its backoff, capped so that a live instance gets its
// beat before the server's 15 s heart-beat timeout. On a new server every instance is registered
// again at once: it may not hold them (standalone servers, or a cluster that lost them).
void NacosRegistry::on_server_failure(const std::string& what, const HttpResult& r) {
  const std::string cause =
      r.answered() ? "HTTP " + std::to_string(r.status) : std::string(r.error_text);
  connectivity_.set(Connectivity::Down, what + ": " + cause, cause,
                    r.answered() ? "answering with server errors" : "unreachable");
  ++failures_in_a_row_;
  if (servers_.size() > 1) {
    current_ = (current_ + 1) % servers_.size();
    spdlog::warn("registry: Nacos {} failed ({}); switching to {}", what, cause,
                 server().endpoint());
    for (auto& [id, e] : entries_) {
      if (e.confirmed) {
        e.confirmed = false;
        touch(id);
      }
    }
    if (failures_in_a_row_ < servers_.size()) return;  // the next server, at once
  }
  retry_within_budget();
}

void NacosRegistry::retry_within_budget() {
  const auto oldest = beaten_.earliest();
  if (!oldest) return retry_.later();
  const auto left = oldest->first + kHeartBeatTimeout - clock_.now();
  retry_.later_within(std::max<runtime::Clock::duration>(left / 4, 50ms));
}

// A 403 means the token is missing, expired or invalid: log in again (once; a second 403 in a
// row is a refusal of the permissions, retried on the backoff).
void NacosRegistry::on_forbidden(const std::string& what, const HttpResult& r) {
  login_.refused();
  if (login_.enabled() && ++forbidden_in_a_row_ < 2) return;
  forbidden_in_a_row_ = 0;
  const std::string message =
      "the Nacos server refused " + what + " (403 " + r.body.substr(0, 200) + ")" +
      (login_.enabled() ? "" : ": it has auth enabled; set registry.nacos.username");
  if (message != refusal_) spdlog::error("registry: {}", message);
  refusal_ = message;
  connectivity_.set(Connectivity::Up, refusal_);
  retry_.later();
}

}  // namespace registrar::registry::nacos
