// EurekaRegistry: one request per change, and what each answer means. Eureka answers a
// registration 204, a heartbeat, status change or cancel 200, and 404 for an instance it does
// not hold: a heartbeat or status change answered 404 means the server lost the instance
// (restarted, evicted it, or another server of the list never had it), so it is registered
// again at once.
#include <spdlog/spdlog.h>

#include <functional>

#include "registry/eureka/eureka_registry.hpp"

namespace registrar::registry::eureka {

namespace {

std::string body_excerpt(const std::string& body) {
  std::string out = body.substr(0, 200);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return out.empty() ? "no text" : "\"" + out + "\"";
}

}  // namespace

void EurekaRegistry::register_instance(const std::string& id) {
  Entry& e = entries_.at(id);
  const std::string status = eureka_status(e.desired->health);
  e.attempted = true;
  e.name = e.desired->name;
  send("register", Method::Post, app_target(base(), e.name),
       registration_body(*e.desired, status.c_str(), lease_),
       std::bind_front(&EurekaRegistry::on_registered, this, id, e.fp, status));
}

void EurekaRegistry::on_registered(const std::string& id, const std::string& fp,
                                   const std::string& status, HttpResult&& r) {
  auto it = entries_.find(id);
  if (!r.answered() || r.status >= 500) return on_failure("registering " + id, r);
  on_success();
  if (it == entries_.end()) return;
  Entry& e = it->second;
  if (!r.ok()) return refused(id, "registering", r);
  if (e.lost) meter_.regrant();
  const bool first = !e.registered && !e.lost;
  e.registered = true;
  e.lost = false;
  e.registered_body = fp;
  e.renewed_at = clock_.now();
  clear_refusal(e);
  // DOWN in a registration always holds (Eureka's DownOrStartingRule); UP may be overridden by
  // a status override the server still keeps for this id (an operator's, or a previous run's
  // OUT_OF_SERVICE), so it is set explicitly unless this is the first registration of this run.
  e.server_status = (status == "DOWN" || first) ? status : "";
  if (first)
    spdlog::info("registry: registered {} in Eureka as {}/{} ({})", id, app_name(e.name), id,
                 status);
  touch(id);
}

void EurekaRegistry::put_status(const std::string& id, const std::string& status) {
  const Entry& e = entries_.at(id);
  send("status", Method::Put, status_target(base(), e.name, id, status), "",
       std::bind_front(&EurekaRegistry::on_status, this, id, status));
}

void EurekaRegistry::on_status(const std::string& id, const std::string& status, HttpResult&& r) {
  if (!r.answered() || r.status >= 500) return on_failure("setting the status of " + id, r);
  on_success();
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  if (r.status == 404) return lost(id, "its status change was answered 404");
  if (!r.ok()) return refused(id, "setting the status of", r);
  it->second.server_status = status;
  clear_refusal(it->second);
  spdlog::info("registry: {} is {} in Eureka", id, status);
  touch(id);
}

void EurekaRegistry::heartbeat(const std::string& id) {
  const Entry& e = entries_.at(id);
  send("heartbeat", Method::Put, instance_target(base(), e.name, id), "",
       std::bind_front(&EurekaRegistry::on_heartbeat, this, id, meter_.sent()));
}

void EurekaRegistry::on_heartbeat(const std::string& id, time_point sent, HttpResult&& r) {
  if (!r.answered() || r.status >= 500) return on_failure("renewing the lease of " + id, r);
  on_success();
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  if (r.status == 404) return lost(id, "its heartbeat was answered 404");
  if (!r.ok()) return refused(id, "renewing the lease of", r);
  meter_.keepalive_since(sent);
  it->second.renewed_at = clock_.now();
  touch(id);
}

void EurekaRegistry::cancel(const std::string& id) {
  const Entry& e = entries_.at(id);
  send("cancel", Method::Delete, instance_target(base(), e.name, id), "",
       std::bind_front(&EurekaRegistry::on_cancelled, this, id));
}

void EurekaRegistry::on_cancelled(const std::string& id, HttpResult&& r) {
  if (!r.answered() || r.status >= 500) return on_failure("cancelling " + id, r);
  on_success();
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  if (!r.ok() && r.status != 404) return refused(id, "cancelling", r);  // 404: gone already
  Entry& e = it->second;
  clear_refusal(e);
  spdlog::info("registry: cancelled {} in Eureka", id);
  e.registered = e.attempted = e.lost = false;
  e.server_status.clear();
  touch(id);
}

void EurekaRegistry::clear_refusal(Entry& e) {
  if (!e.retry_at) return;
  e.retry_at.reset();
  e.backoff.reset();
  refusal_.clear();
  state_.last_error.clear();
}

// The server does not hold the instance any more: register it again at once.
void EurekaRegistry::lost(const std::string& id, const std::string& why) {
  Entry& e = entries_.at(id);
  spdlog::warn("registry: Eureka lost {} ({}); registering it again", id, why);
  e.registered = false;
  e.lost = true;
  e.server_status.clear();
  touch(id);
}

// A 4xx other than 404: the server refuses this request (400 with addInstance's text, 401/403
// for credentials). Retried on the entry's own backoff, so that one refused instance does not
// hold up the others; logged once per distinct refusal.
void EurekaRegistry::refused(const std::string& id, const std::string& what, const HttpResult& r) {
  Entry& e = entries_.at(id);
  const std::string message =
      "the Eureka server refused " + what + " " + id + ": HTTP " + std::to_string(r.status) + ", " +
      body_excerpt(r.body) +
      (r.status == 401 || r.status == 403 ? " (check registry.eureka.username and its password)"
                                          : "");
  if (message != refusal_) spdlog::error("registry: {}", message);
  refusal_ = message;
  state_.last_error = message;
  if (!e.backoff) e.backoff = retry_.make_backoff();
  e.retry_at = clock_.now() + e.backoff->next();
  if (e.registered) e.registered_body.clear();  // registered again, after the backoff
  touch(id);
}

}  // namespace registrar::registry::eureka
