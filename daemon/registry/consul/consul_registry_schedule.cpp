// ConsulRegistry's scheduling: what each entry needs next and from when, kept in a due-time
// queue updated in place whenever the entry changes. A pass takes the first due entry, so the
// cost of an agent's answer is O(log N), not a scan of every service (which made a TTL cycle
// O(N^2) and let checks expire at N = 1000). The sync state (in_sync, the registered ids, the
// conflict shown as last_error) is kept the same way, as counters and sets updated per entry.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "registry/consul/consul_registry.hpp"
#include "registry/consul/consul_registry_internal.hpp"

namespace registrar::registry::consul {

using std::chrono::milliseconds;

namespace {

// What makes the agent differ from the desired set for one entry.
bool synced(const Registration* desired, bool foreign, bool registered, bool attempted, bool stale,
            bool reaped, bool same_fingerprint, bool output_pending, bool pushed_as_desired) {
  if (!desired) return foreign || !(registered || attempted || stale);
  if (reaped) return true;
  return !foreign && registered && same_fingerprint && !output_pending && pushed_as_desired;
}

}  // namespace

// Urgent work (a deregistration, a registration, a health change) is due at once; a refresh and
// a read-back when their interval has passed; everything waits out the entry's own backoff after
// the agent refused it.
ConsulRegistry::Plan ConsulRegistry::plan(const Entry& e) const {
  const time_point retry = e.retry_at.value_or(time_point::min());
  const auto every = spec_.consul.reconcile_interval;
  const auto verify_at = [&] { return std::max(retry, e.verified_at + every); };
  if (!e.desired) {
    if (!e.foreign && (e.registered || e.attempted || e.stale)) return {Action::Deregister, retry};
    return {Action::Forget, retry};
  }
  if (e.foreign) return every.count() > 0 ? Plan{Action::Verify, verify_at()} : Plan{};
  if (e.reaped && e.desired->health != Health::Passing) return {};  // waits for it to pass
  if (e.reaped || !e.registered || e.registered_fingerprint != e.fingerprint)
    return {Action::Register, retry};
  // A flap back to what the agent already holds has nothing to push.
  if (e.output_pending || (e.push_now && e.pushed != e.desired->health))
    return {Action::Push, retry};
  const time_point refresh_at = std::max(retry, e.refreshed_at + refresh_interval(check_.ttl));
  if (every.count() > 0 && verify_at() < refresh_at) return {Action::Verify, verify_at()};
  return {Action::Refresh, refresh_at};
}

bool ConsulRegistry::act_on_due(time_point now) {
  // Each round either sends a request or re-plans the entry to later (or forgets it), so the
  // loop ends; a stale due time (the entry changed without a touch) only costs a round.
  while (auto first = due_.earliest()) {
    if (first->first > now) return false;
    const std::string id = first->second;
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      due_.remove(id);
      continue;
    }
    Entry& e = it->second;
    const Plan p = plan(e);
    if (p.action == Action::None || p.at > now) {
      touch(id);
      continue;
    }
    switch (p.action) {
      case Action::Forget:
        forget(it);
        continue;
      case Action::Deregister:
        deregister(id);
        return true;
      case Action::Register:
        e.reaped = false;
        register_service(id);
        return true;
      case Action::Push:
      case Action::Refresh:
        update_check(id);
        return true;
      case Action::Verify:
        verify(id);
        return true;
      case Action::None:
        break;
    }
  }
  return false;
}

void ConsulRegistry::touch(const std::string& id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    due_.remove(id);
    refreshed_.remove(id);
    return;
  }
  Entry& e = it->second;
  const Plan p = plan(e);
  if (p.action == Action::None)
    due_.remove(id);
  else
    due_.schedule(id, p.at);
  if (e.desired && !e.foreign && !e.reaped && e.registered)
    refreshed_.schedule(id, e.refreshed_at);
  else
    refreshed_.remove(id);

  const bool in_sync =
      synced(e.desired ? &*e.desired : nullptr, e.foreign, e.registered, e.attempted, e.stale,
             e.reaped, e.registered_fingerprint == e.fingerprint, e.output_pending,
             e.desired && e.pushed == e.desired->health);
  book_.record(id, e.registered, in_sync);
  if (e.refusal.empty())
    refused_ids_.erase(id);
  else
    refused_ids_.insert(id);
  if (e.desired && e.foreign)
    foreign_ids_.insert(id);
  else
    foreign_ids_.erase(id);
}

void ConsulRegistry::touch_all() {
  for (const auto& [id, e] : entries_) touch(id);
}

void ConsulRegistry::forget(std::map<std::string, Entry>::iterator it) {
  const std::string id = it->first;
  entries_.erase(it);
  due_.remove(id);
  refreshed_.remove(id);
  refused_ids_.erase(id);
  foreign_ids_.erase(id);
  book_.forget(id);
}

void ConsulRegistry::arm_tick(time_point now) {
  const auto first = due_.earliest();
  if (!first) return tick_.cancel();
  const auto delay = std::max(milliseconds(1), std::chrono::ceil<milliseconds>(first->first - now));
  tick_.arm_after(delay, [this] { reconcile(); });
}

// The general backoff grows to registry.backoff.max, far beyond a check's TTL: five 500s in a
// row with a 1 s initial backoff waited 15 s, and a check with a 2 s TTL went critical. While a
// check is still alive, each retry waits at most an eighth of the time left before the first
// live check expires, and not less than TTL/30: a burst of failures shorter than TTL/3 then ends
// with the checks refreshed before they expire, and a failing agent sees about 20-30 requests
// per TTL at most. Once every check has expired, the general backoff alone paces the retries.
void ConsulRegistry::retry_within_ttl() {
  const auto now = clock_.now();
  const auto live = refreshed_.first_from(now - check_.ttl + milliseconds(1));
  if (!live) return retry_.later();
  const auto left = live->first + check_.ttl - now;
  const auto floor = std::chrono::duration_cast<runtime::Clock::duration>(check_.ttl) / 30;
  retry_.later_within(std::max(floor, left / 8));
}

void ConsulRegistry::publish_state() {
  conflict_.clear();
  if (!refused_ids_.empty())
    conflict_ = entries_.at(*refused_ids_.begin()).refusal;
  else if (!foreign_ids_.empty())
    conflict_ = "service id " + *foreign_ids_.begin() + " belongs to another owner in Consul";
  if (state_.connectivity != Connectivity::Down)
    state_.last_error = !refusal_.empty() ? refusal_ : conflict_;
  if (book_.publish(swept_ && book_.all_synced()) && on_state_) on_state_(state_);
}

}  // namespace registrar::registry::consul
