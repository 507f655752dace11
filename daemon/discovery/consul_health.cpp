#include "discovery/consul_health.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "registry/consul/consul_api.hpp"

namespace registrar::discovery::consul {

namespace {

// Percent-encoded as a query parameter's value.
std::string query_value(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

int severity(registry::Health h) {
  return h == registry::Health::Passing ? 0 : h == registry::Health::Warning ? 1 : 2;
}

registry::Health worst_check(const nlohmann::json& checks) {
  registry::Health worst = registry::Health::Passing;
  if (!checks.is_array()) return worst;
  for (const auto& c : checks) {
    const std::string status = c.is_object() && c.contains("Status") && c["Status"].is_string()
                                   ? c["Status"].get<std::string>()
                                   : "";
    registry::Health h = registry::Health::Critical;  // maintenance, or anything unknown
    if (status == "passing") h = registry::Health::Passing;
    if (status == "warning") h = registry::Health::Warning;
    if (severity(h) > severity(worst)) worst = h;
  }
  return worst;
}

std::string string_field(const nlohmann::json& o, const char* key) {
  return o.is_object() && o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : "";
}

std::optional<Instance> instance_of(const nlohmann::json& entry, std::string& why) {
  if (!entry.is_object() || !entry.contains("Service") || !entry["Service"].is_object()) {
    why = "an entry without a Service object";
    return std::nullopt;
  }
  const nlohmann::json& s = entry["Service"];
  Instance i;
  i.id = string_field(s, "ID");
  i.name = string_field(s, "Service");
  i.address = string_field(s, "Address");
  if (i.address.empty() && entry.contains("Node"))
    i.address = string_field(entry["Node"], "Address");
  const nlohmann::json port = s.contains("Port") ? s["Port"] : nlohmann::json();
  if (i.id.empty() || !port.is_number_unsigned() || port.get<std::uint64_t>() > 65535) {
    why = "a service without an ID or a valid Port";
    return std::nullopt;
  }
  i.port = static_cast<std::uint16_t>(port.get<std::uint64_t>());
  if (s.contains("Tags") && s["Tags"].is_array())
    for (const auto& t : s["Tags"])
      if (t.is_string()) i.tags.push_back(t.get<std::string>());
  if (s.contains("Meta") && s["Meta"].is_object())
    for (const auto& [k, v] : s["Meta"].items())
      if (v.is_string()) i.meta[k] = v.get<std::string>();
  i.health = worst_check(entry.contains("Checks") ? entry["Checks"] : nlohmann::json());
  return i;
}

}  // namespace

std::string health_target(const Query& query, std::uint64_t index, std::chrono::seconds wait) {
  std::string t = "/v1/health/service/" + registry::consul::escape_path_segment(query.name);
  std::string sep = "?";
  if (query.healthy_only) {
    t += sep + "passing";
    sep = "&";
  }
  for (const std::string& tag : query.tags) {
    t += sep + "tag=" + query_value(tag);
    sep = "&";
  }
  if (index > 0)
    t += sep + "index=" + std::to_string(index) + "&wait=" + std::to_string(wait.count()) + "s";
  return t;
}

std::uint64_t next_index(std::uint64_t sent, std::string_view header) {
  std::uint64_t got = 0;
  const auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), got);
  if (ec != std::errc() || end != header.data() + header.size()) got = 0;
  if (got < sent) return 0;
  return got == 0 ? 1 : got;
}

std::optional<InstanceSet> parse_health_service(std::string_view body, std::string& why) {
  const nlohmann::json v = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!v.is_array()) {
    why = "the answer is not a JSON list";
    return std::nullopt;
  }
  InstanceSet set;
  for (const auto& entry : v) {
    auto instance = instance_of(entry, why);
    if (!instance) return std::nullopt;
    set[instance->id] = std::move(*instance);
  }
  return set;
}

}  // namespace registrar::discovery::consul
