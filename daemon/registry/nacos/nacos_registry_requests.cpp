// NacosRegistry's requests: one per need of an entry (register, beat, deregister) and the login,
// and what each answer means.
#include <spdlog/spdlog.h>

#include "registry/nacos/nacos_registry.hpp"

namespace registrar::registry::nacos {

// Metric labels (a fixed set).
constexpr std::string_view kLogin = "login";
constexpr std::string_view kRegister = "register";
constexpr std::string_view kBeat = "beat";
constexpr std::string_view kDeregister = "deregister";

void NacosRegistry::login() {
  std::string error;
  std::optional<std::string> password = login_.password(error);
  if (!password) {
    const std::string message = "cannot log in to Nacos: " + error;
    if (message != refusal_) spdlog::error("registry: {}", message);
    refusal_ = message;
    publish_state();
    return retry_.later();
  }
  send(kLogin, login_request(login_.username(), *password), "", &NacosRegistry::on_login);
}

void NacosRegistry::on_login(const std::string&, HttpResult&& r) {
  std::string why;
  std::optional<LoginAnswer> a;
  if (r.ok()) a = parse_login_answer(r.body, why);
  if (!a) {
    const std::string message =
        "Nacos login as " + login_.username() + " failed: " +
        (r.ok() ? why : "HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 200));
    if (message != refusal_) spdlog::error("registry: {}", message);
    refusal_ = message;
    connectivity_.set(Connectivity::Up, refusal_);
    return retry_.later();
  }
  login_.obtained(std::move(a->token), a->ttl, clock_.now());
  spdlog::info("registry: logged in to Nacos at {} as {} (token valid {} s)", server().endpoint(),
               login_.username(), a->ttl.count());
  refusal_.clear();
  reachable();
}

void NacosRegistry::register_instance(const std::string& id) {
  Entry& e = entries_.at(id);
  e.written = e.desired;
  send(kRegister, register_request(spec_, *e.desired, login_.token()), id,
       &NacosRegistry::on_registered);
}

void NacosRegistry::on_registered(const std::string& id, HttpResult&& r) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  if (!r.ok())
    return refused(id, "registering " + id + ": HTTP " + std::to_string(r.status) + " " +
                           r.body.substr(0, 300));
  forbidden_in_a_row_ = 0;
  const bool first = !e.confirmed;
  e.confirmed = true;
  e.backoff.reset();
  e.retry_at.reset();
  // The first beat goes at once, as Nacos's own client sends it: its answer tells the interval
  // this server wants (clientBeatInterval), which may be shorter than the default 5 s.
  if (first)
    e.beat_due = clock_.now();
  else
    e.beat_due = clock_.now() + e.interval;
  beaten_.schedule(id, clock_.now());
  if (first) {
    spdlog::info("registry: registered {} in Nacos ({} {}:{})", id, e.written->name,
                 e.written->address, e.written->port);
  }
  if (refusal_.rfind("registering " + id + ":", 0) == 0) refusal_.clear();
  reachable();
  touch(id);
}

void NacosRegistry::beat(const std::string& id) {
  const Entry& e = entries_.at(id);
  send(kBeat, beat_request(spec_, *e.written, e.interval, login_.token()), id,
       &NacosRegistry::on_beat);
}

// 10200: renewed, next beat at the interval answered. 20404: the server does not know the
// instance (it restarted without its data, or removed it): register it again at once.
void NacosRegistry::on_beat(const std::string& id, HttpResult&& r) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  std::string why;
  std::optional<BeatAnswer> a;
  if (r.ok()) a = parse_beat_answer(r.body, why);
  if (!a) {
    if (r.ok()) {  // a 2xx that is not a beat's answer: a failing server, as a 502 would be
      r.status = 502;
      r.error_text = why;
    }
    on_server_failure("beat", r);
    return;
  }
  forbidden_in_a_row_ = 0;
  reachable();
  if (!e.written) return touch(id);
  if (a->code == kCodeResourceNotFound) {
    spdlog::warn(
        "registry: Nacos at {} does not know {} (beat answered 20404); registering it "
        "again",
        server().endpoint(), id);
    e.confirmed = false;
    meter_.regrant();
    return touch(id);
  }
  const auto now = clock_.now();
  e.interval = a->interval;
  e.beat_due = now + e.interval;
  beaten_.schedule(id, now);
  touch(id);
}

// Deregisters what the server may hold for `id` (an unhealthy or removed service, or the old
// instance of a service whose name, address or port changed).
void NacosRegistry::deregister(const std::string& id) {
  const Entry& e = entries_.at(id);
  send(kDeregister, deregister_request(spec_, *e.written, login_.token()), id,
       &NacosRegistry::on_deregistered);
}

void NacosRegistry::on_deregistered(const std::string& id, HttpResult&& r) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  if (!r.ok())
    return refused(id, "deregistering " + id + ": HTTP " + std::to_string(r.status) + " " +
                           r.body.substr(0, 300));
  forbidden_in_a_row_ = 0;
  if (e.written) spdlog::info("registry: deregistered {} from Nacos", id);
  e.written.reset();
  e.confirmed = false;
  e.backoff.reset();
  e.retry_at.reset();
  reachable();
  touch(id);
}

// The server answered, but refused this entry (400 and the like): logged once per change,
// retried on the entry's own backoff while the others go on.
void NacosRegistry::refused(const std::string& id, const std::string& message) {
  Entry& e = entries_.at(id);
  if (message != refusal_) spdlog::error("registry: Nacos refused {}", message);
  refusal_ = message;
  if (!e.backoff) e.backoff.emplace(retry_.make_backoff());
  e.retry_at = clock_.now() + e.backoff->next();
  failures_in_a_row_ = 0;
  connectivity_.set(Connectivity::Up, refusal_);
  touch(id);
}

}  // namespace registrar::registry::nacos
