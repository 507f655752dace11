#include "supervisor/reload_plan.hpp"

#include <algorithm>
#include <map>
#include <sstream>

#include "config/effective.hpp"

namespace registrar::supervisor {

namespace {

// The registry section as `check` prints it (secrets redacted), one setting per line.
std::vector<std::string> registry_lines(const config::Manifest& m) {
  config::Manifest only;
  only.registry = m.registry;
  std::istringstream text(config::render_effective(only));
  std::vector<std::string> lines;
  std::string line;
  bool in_registry = false;
  while (std::getline(text, line)) {
    if (line.rfind("registry:", 0) == 0) {
      in_registry = true;
      continue;
    }
    if (in_registry && !line.empty() && line[0] != ' ') break;  // the next top-level key
    if (in_registry) lines.push_back(line.substr(line.find_first_not_of(' ')));
  }
  return lines;
}

std::string describe_registry_change(const config::Manifest& a, const config::Manifest& b) {
  const auto old_lines = registry_lines(a);
  const auto new_lines = registry_lines(b);
  if (old_lines == new_lines) {
    // Secrets are redacted in the rendering: compare them directly, and name only the setting.
    if (a.registry.consul.token != b.registry.consul.token) {
      const std::string& from = b.registry.consul.token_source;
      return "the Consul ACL token changed" + (from.empty() ? "" : " (now from " + from + ")") +
             "; a token_file is re-read after a 403 and needs no reload";
    }
    if (a.registry.etcd.password != b.registry.etcd.password) {
      return "the etcd password from ETCDCTL_PASSWORD changed (a password_file is re-read at "
             "every authentication and needs no reload)";
    }
    return {};
  }
  for (std::size_t i = 0; i < std::max(old_lines.size(), new_lines.size()); ++i) {
    const std::string was = i < old_lines.size() ? old_lines[i] : "(nothing)";
    const std::string now = i < new_lines.size() ? new_lines[i] : "(nothing)";
    if (was != now) return "registry section changed: \"" + now + "\" instead of \"" + was + "\"";
  }
  return "registry settings differ";
}

}  // namespace

bool same_probe_target(const config::ProbeSpec& a, const config::ProbeSpec& b) {
  // Everything but the thresholds, which a running prober's results are judged by afterwards.
  config::ProbeSpec b_with_a_thresholds = b;
  b_with_a_thresholds.rise = a.rise;
  b_with_a_thresholds.fall = a.fall;
  return a == b_with_a_thresholds;
}

ReloadPlan plan_reload(const config::Manifest& current, const config::Manifest& next) {
  ReloadPlan plan;
  plan.registry_change = describe_registry_change(current, next);
  std::map<std::string, const config::ServiceSpec*> old_by_id;
  for (const auto& s : current.services) old_by_id.emplace(s.id, &s);
  std::map<std::string, const config::ServiceSpec*> new_by_id;
  for (const auto& s : next.services) new_by_id.emplace(s.id, &s);
  for (const auto& [id, old] : old_by_id) {
    auto it = new_by_id.find(id);
    if (it == new_by_id.end()) {
      plan.removed.push_back(id);
    } else if (*old == *it->second) {
      plan.unchanged.push_back(id);
    } else if (!same_probe_target(old->probe, it->second->probe)) {
      plan.reprobed.push_back(id);
    } else {
      plan.rewritten.push_back(id);
    }
  }
  for (const auto& [id, s] : new_by_id)
    if (!old_by_id.contains(id)) plan.added.push_back(id);
  return plan;
}

}  // namespace registrar::supervisor
