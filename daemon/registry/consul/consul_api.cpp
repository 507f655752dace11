#include "registry/consul/consul_api.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace registrar::registry::consul {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// The longest prefix of `s` of at most `max` bytes that does not cut a UTF-8 sequence.
std::string utf8_prefix(const std::string& s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

std::string string_field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

AgentService service_from(const json& j) {
  AgentService s;
  s.id = string_field(j, "ID");
  s.name = string_field(j, "Service");
  s.address = string_field(j, "Address");
  if (auto it = j.find("Port"); it != j.end() && it->is_number_integer()) s.port = it->get<int>();
  if (auto it = j.find("Tags"); it != j.end() && it->is_array()) {
    for (const auto& t : *it)
      if (t.is_string()) s.tags.push_back(t.get<std::string>());
  }
  if (auto it = j.find("Meta"); it != j.end() && it->is_object()) {
    for (const auto& [k, v] : it->items())
      if (v.is_string()) s.meta[k] = v.get<std::string>();
  }
  if (auto it = j.find("Weights"); it != j.end() && it->is_object()) {
    config::ConsulWeights w;
    if (auto p = it->find("Passing"); p != it->end() && p->is_number_integer())
      w.passing = p->get<int>();
    if (auto p = it->find("Warning"); p != it->end() && p->is_number_integer())
      w.warning = p->get<int>();
    s.weights = w;
  }
  return s;
}

}  // namespace

std::chrono::milliseconds refresh_interval(std::chrono::milliseconds ttl) {
  return std::max(std::chrono::milliseconds(10), ttl / 3);
}

std::string check_id(const std::string& service_id) {
  return "grpc-registrar:" + service_id;
}

std::string check_notes(const CheckSettings& check) {
  return "grpc.health.v1 result pushed by grpc-registrar every " +
         go_duration(refresh_interval(check.ttl)) + " (TTL " + go_duration(check.ttl) +
         "); Consul deregisters the service after " + go_duration(check.deregister_critical_after) +
         " critical";
}

std::string go_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 1000 != 0) return std::to_string(ms) + "ms";
  const auto s = ms / 1000;
  if (s != 0 && s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s != 0 && s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

std::string escape_path_segment(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '@';
    if (keep) {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0xF];
    }
  }
  return out;
}

std::string register_target() {
  return "/v1/agent/service/register?replace-existing-checks=true";
}

std::string update_target(const std::string& service_id) {
  return "/v1/agent/check/update/" + escape_path_segment(check_id(service_id));
}

std::string deregister_target(const std::string& service_id) {
  return "/v1/agent/service/deregister/" + escape_path_segment(service_id);
}

std::string service_target(const std::string& service_id) {
  return "/v1/agent/service/" + escape_path_segment(service_id);
}

std::string register_body(const Registration& reg,
                          const std::optional<config::ConsulWeights>& weights,
                          const std::string& owner, const CheckSettings& check) {
  ordered_json body;
  body["ID"] = reg.id;
  body["Name"] = reg.name;
  body["Tags"] = reg.tags;
  body["Address"] = reg.address;
  body["Port"] = reg.port;
  ordered_json meta = ordered_json::object();
  for (const auto& [k, v] : reg.meta) meta[k] = v;
  meta[kManagedByKey] = kManagedByValue;
  meta[kOwnerKey] = owner;
  body["Meta"] = std::move(meta);
  if (weights) body["Weights"] = {{"Passing", weights->passing}, {"Warning", weights->warning}};
  body["Check"] = {
      {"CheckID", check_id(reg.id)},
      {"Name", kCheckName},
      {"Notes", check_notes(check)},
      {"TTL", go_duration(check.ttl)},
      {"DeregisterCriticalServiceAfter", go_duration(check.deregister_critical_after)},
      {"Status", to_string(reg.health)},
  };
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string update_body(Health health, const std::string& output) {
  ordered_json body;
  body["Status"] = to_string(health);
  body["Output"] = utf8_prefix(output, kMaxOutput);
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

AgentService expected_service(const Registration& reg,
                              const std::optional<config::ConsulWeights>& weights,
                              const std::string& owner) {
  AgentService s;
  s.id = reg.id;
  s.name = reg.name;
  s.tags = reg.tags;
  s.address = reg.address;
  s.port = reg.port;
  s.meta = reg.meta;
  s.meta[kManagedByKey] = kManagedByValue;
  s.meta[kOwnerKey] = owner;
  s.weights = weights;
  return s;
}

bool same_service(const AgentService& got, const AgentService& want) {
  const config::ConsulWeights consul_default{};
  return got.name == want.name && got.tags == want.tags && got.address == want.address &&
         got.port == want.port && got.meta == want.meta &&
         got.weights.value_or(consul_default) == want.weights.value_or(consul_default);
}

bool owned_by(const AgentService& s, const std::string& owner) {
  auto by = s.meta.find(kManagedByKey);
  auto who = s.meta.find(kOwnerKey);
  return by != s.meta.end() && by->second == kManagedByValue && who != s.meta.end() &&
         who->second == owner;
}

std::optional<AgentService> parse_service(std::string_view text, std::string& why) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    why = "the agent's answer is not a JSON object";
    return std::nullopt;
  }
  return service_from(j);
}

std::optional<std::map<std::string, AgentService>> parse_services(std::string_view text,
                                                                  std::string& why) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !(j.is_object() || j.is_null())) {
    why = "the agent's list of services is not a JSON object";
    return std::nullopt;
  }
  std::map<std::string, AgentService> out;
  if (j.is_null()) return out;
  for (const auto& [id, v] : j.items()) {
    if (!v.is_object()) continue;
    AgentService s = service_from(v);
    if (s.id.empty()) s.id = id;
    out.emplace(id, std::move(s));
  }
  return out;
}

std::optional<std::map<std::string, AgentCheck>> parse_checks(std::string_view text,
                                                              std::string& why) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !(j.is_object() || j.is_null())) {
    why = "the agent's list of checks is not a JSON object";
    return std::nullopt;
  }
  std::map<std::string, AgentCheck> out;
  if (j.is_null()) return out;
  for (const auto& [id, v] : j.items()) {
    if (!v.is_object()) continue;
    AgentCheck c;
    c.id = string_field(v, "CheckID");
    if (c.id.empty()) c.id = id;
    c.service_id = string_field(v, "ServiceID");
    c.status = string_field(v, "Status");
    c.output = string_field(v, "Output");
    c.notes = string_field(v, "Notes");
    out.emplace(id, std::move(c));
  }
  return out;
}

std::optional<Health> parse_health(std::string_view status) {
  if (status == "passing") return Health::Passing;
  if (status == "warning") return Health::Warning;
  if (status == "critical") return Health::Critical;
  return std::nullopt;
}

bool check_unknown(int status, std::string_view body) {
  return status == 404 ||
         (status == 500 && body.find("does not have associated TTL") != std::string_view::npos);
}

std::string describe_answer(int status, std::string_view body) {
  std::string_view first = body.substr(0, body.find('\n'));
  while (!first.empty() && (first.back() == '\r' || first.back() == ' ')) first.remove_suffix(1);
  const std::string head = utf8_prefix(std::string(first), 200);
  std::string text;
  for (char c : head) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static const char* hex = "0123456789ABCDEF";
      text += "\\x";
      text += hex[u >> 4];
      text += hex[u & 0xF];
    } else {
      text += c;
    }
  }
  if (head.size() < first.size()) text += "...";
  std::string out = std::to_string(status);
  if (!text.empty()) out += " " + text;
  return out;
}

}  // namespace registrar::registry::consul
