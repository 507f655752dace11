#include "registry/eureka/eureka_registry.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "registry/common/bind_weak.hpp"

namespace registrar::registry::eureka {

EurekaRegistry::EurekaRegistry(boost::asio::any_io_executor executor,
                               const config::RegistrySpec& spec,
                               std::vector<std::unique_ptr<HttpTransport>> transports,
                               const runtime::Clock& clock, runtime::Backoff::Random random,
                               ReadFile read_file, metrics::RegistryObserver& observer)
    : spec_(spec),
      lease_{spec.eureka.renewal_interval, spec.eureka.lease_duration},
      clock_(clock),
      meter_(observer, clock),
      transports_(std::move(transports)),
      read_file_(std::move(read_file)),
      connectivity_(state_, on_state_,
                    common::ConnectivityLog::Words{
                        [this] { return "Eureka server at " + spec_.eureka.servers[current_].url; },
                        [this] {
                          return "Eureka server reachable at " + spec_.eureka.servers[current_].url;
                        }}),
      retry_(executor, clock, spec.backoff, std::move(random), [this] { loop_.run(); }),
      loop_([this] { pass(); }, retry_),
      tick_(executor, clock),
      latch_(executor, clock) {
  if (transports_.empty() || transports_.size() != spec_.eureka.servers.size())
    throw std::invalid_argument("EurekaRegistry: one transport per server");
}

EurekaRegistry::~EurekaRegistry() = default;

void EurekaRegistry::start(StateCallback on_state_change) {
  on_state_ = std::move(on_state_change);
  const config::EurekaSpec& e = spec_.eureka;
  std::string password = e.password;
  if (!e.password_file.empty()) {
    std::string error;
    std::optional<std::string> read =
        read_file_ ? read_file_(e.password_file, error) : std::nullopt;
    if (read)
      password = *read;
    else
      spdlog::error("registry: cannot read the Eureka password: {}", error);
  }
  if (!e.username.empty()) authorization_ = basic_authorization(e.username, password);
  std::string urls;
  for (const config::EurekaServer& s : e.servers) urls += (urls.empty() ? "" : ", ") + s.url;
  spdlog::info(
      "registry: Eureka servers {} (in this order), heartbeat every {} ms, lease {} s, "
      "basic auth: {}",
      urls, lease_.renewal_interval.count(), lease_.lease_duration.count() / 1000,
      e.username.empty() ? "none" : "user " + e.username + ", password from " + e.password_source);
  loop_.run();
}

std::string EurekaRegistry::fingerprint(const Registration& reg) const {
  return registration_body(reg, "", lease_);
}

void EurekaRegistry::apply(const DesiredSet& desired) {
  if (loop_.stopped()) return;
  applied_ = true;
  for (const auto& [id, reg] : desired) {
    Entry& e = entries_[id];
    if (e.desired && *e.desired == reg) continue;
    e.fp = fingerprint(reg);
    e.desired = reg;
    touch(id);
  }
  // touch() may forget an entry (erase it from entries_): collect first, then touch.
  std::vector<std::string> removed;
  for (auto& [id, e] : entries_) {
    if (e.desired && !desired.contains(id)) {
      e.desired.reset();
      removed.push_back(id);
    }
  }
  for (const auto& id : removed) touch(id);
  publish_state();
  loop_.run();
}

std::string EurekaRegistry::desired_status(const Entry& e) const {
  return e.desired ? eureka_status(e.desired->health) : kOutOfService;
}

// What an entry needs next. Registrations, status changes and cancels are due at once (a
// refused registration when its own backoff says); a heartbeat renewal_interval after the last
// renewal.
EurekaRegistry::Plan EurekaRegistry::plan(const Entry& e) const {
  Plan p = plan_now(e);
  if (e.retry_at && p.action != Action::Heartbeat && p.action != Action::Forget)
    p.at = std::max(p.at, *e.retry_at);
  return p;
}

EurekaRegistry::Plan EurekaRegistry::plan_now(const Entry& e) const {
  const auto now = clock_.now();
  if (!e.desired) {
    if (!e.registered && !e.attempted) return {Action::Forget, now};
    // Out of service first, so that readers stop using it even before the cancel lands.
    if (e.registered && e.server_status != kOutOfService) return {Action::Status, now};
    return {Action::Cancel, now};
  }
  // Renamed: the instance of the old application is cancelled first, then the new registers.
  if (e.registered && e.name != e.desired->name) return {Action::Cancel, now};
  if (!e.registered || e.registered_body != e.fp) return {Action::Register, now};
  if (e.server_status != desired_status(e)) return {Action::Status, now};
  return {Action::Heartbeat, e.renewed_at + lease_.renewal_interval};
}

void EurekaRegistry::touch(const std::string& id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  const Plan p = plan(it->second);
  if (p.action == Action::Forget) {
    due_.remove(id);
    renewed_.remove(id);
    book_.forget(id);
    entries_.erase(it);
    return;
  }
  due_.schedule(id, p.at);
  if (it->second.registered)
    renewed_.schedule(id, it->second.renewed_at);
  else
    renewed_.remove(id);
  // In sync means nothing but heartbeats is left to send for it.
  book_.record(id, it->second.registered, p.action == Action::Heartbeat);
}

void EurekaRegistry::pass() {
  if (!applied_) return;
  const auto now = clock_.now();
  auto first = due_.earliest();
  if (!first) return publish_state();
  if (first->first > now) {
    publish_state();
    tick_.arm_at(first->first, [this] { loop_.run(); });
    return;
  }
  const std::string id = first->second;
  const Entry& e = entries_.at(id);
  switch (plan(e).action) {
    case Action::Register:
      return register_instance(id);
    case Action::Status:
      return put_status(id, desired_status(e));
    case Action::Heartbeat:
      return heartbeat(id);
    case Action::Cancel:
      return cancel(id);
    case Action::None:
    case Action::Forget:
      touch(id);
      return loop_.run();
  }
}

const std::string& EurekaRegistry::base() const {
  return spec_.eureka.servers[current_].path;
}

std::vector<http::Header> EurekaRegistry::headers() const {
  std::vector<http::Header> h{{"Accept", "application/json"}};
  if (!authorization_.empty()) h.push_back({"Authorization", authorization_});
  return h;
}

void EurekaRegistry::send(std::string_view kind, Method method, std::string target,
                          std::string body, Completion on_done) {
  loop_.begin();
  HttpRequest req;
  req.method = method;
  req.target = std::move(target);
  req.body = std::move(body);
  req.headers = headers();
  transports_[current_]->send(std::move(req),
                              common::bind_weak(this, &EurekaRegistry::on_answer, std::string(kind),
                                                meter_.sent(), current_, std::move(on_done)));
}

void EurekaRegistry::on_answer(std::string kind, time_point sent, std::size_t server,
                               const Completion& on_done, HttpResult r) {
  if (loop_.stopped() || r.error == HttpResult::Error::Cancelled) return;
  loop_.end();
  // A cancel answered 404 did what it should: the instance is gone.
  meter_.request(kind, r.ok() || (kind == "cancel" && r.answered() && r.status == 404), sent);
  if (server != current_) return loop_.run();  // answered by a server we have left since
  on_done(std::move(r));
  publish_state();
  loop_.run();
}

void EurekaRegistry::on_success() {
  failed_in_a_row_ = 0;
  retry_.reset();
  connectivity_.set(Connectivity::Up, refusal_);
}

// No answer, or a 5xx: the next server in the list is tried at once; once every server failed
// in a row, the backoff is waited out, but never so long that a live lease runs out meanwhile.
void EurekaRegistry::on_failure(const std::string& what, const HttpResult& r) {
  const std::string cause = r.answered() ? "HTTP " + std::to_string(r.status) : r.error_text;
  const std::string& url = spec_.eureka.servers[current_].url;
  const std::string error = what + " at " + url + ": " + cause;
  ++failed_in_a_row_;
  if (transports_.size() > 1) {
    const std::size_t next = (current_ + 1) % transports_.size();
    spdlog::warn("registry: {}; trying {} next", error, spec_.eureka.servers[next].url);
    transports_[current_]->cancel_all();
    current_ = next;
  }
  if (failed_in_a_row_ < transports_.size()) return;
  failed_in_a_row_ = 0;
  connectivity_.set(Connectivity::Down, error, cause,
                    r.answered() ? "answering with server errors" : "unreachable");
  retry_within_lease();
}

// Retries come within the lease of the instance renewed longest ago, less one request timeout:
// a short burst of errors never lets a healthy instance expire.
void EurekaRegistry::retry_within_lease() {
  auto oldest = renewed_.earliest();
  if (!oldest) return retry_.later();
  const auto now = clock_.now();
  const auto deadline = oldest->first + lease_.lease_duration - spec_.eureka.request_timeout;
  retry_.later_within(deadline > now ? deadline - now : runtime::Clock::duration::zero());
}

void EurekaRegistry::publish_state() {
  // O(1) per answer: touch() records each entry in the book (common::SyncBook), so that a
  // renewal does not walk every entry (at N = 1000 that walk was a third of the daemon's CPU:
  // docs/benchmarks.md, figure 8).
  const bool in_sync =
      applied_ && book_.all_synced() && connectivity_.current() == Connectivity::Up;
  if (book_.publish(in_sync) && on_state_) on_state_(state_);
}

}  // namespace registrar::registry::eureka
