#include "discovery/eureka_apps.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

namespace registrar::discovery::eureka {

namespace {

using Json = nlohmann::json;

std::string text_of(const Json& o, const char* key) {
  return o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : "";
}

// A port as Eureka writes it: {"$": 8080, "@enabled": "true"}, or a bare number or numeric
// string (other codecs); 0 when it is none of those or not in 1..65535.
std::uint16_t port_of(const Json& v) {
  if (v.is_object()) return v.contains("$") ? port_of(v["$"]) : 0;
  std::uint64_t n = 0;
  if (v.is_number_unsigned()) {
    n = v.get<std::uint64_t>();
  } else if (v.is_string()) {
    const std::string s = v.get<std::string>();
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end != s.data() + s.size()) return 0;
  }
  return n > 0 && n <= 65535 ? static_cast<std::uint16_t>(n) : 0;
}

std::optional<Instance> instance_of(const Json& in, std::string& why) {
  if (!in.is_object()) {
    why = "an instance that is not a JSON object";
    return std::nullopt;
  }
  Instance i;
  i.id = text_of(in, "instanceId");
  if (i.id.empty()) i.id = text_of(in, "hostName");
  i.name = text_of(in, "app");
  i.address = text_of(in, "ipAddr");
  if (i.address.empty()) i.address = text_of(in, "hostName");
  if (in.contains("metadata") && in["metadata"].is_object())
    for (const auto& [k, v] : in["metadata"].items())
      if (v.is_string()) i.meta[k] = v.get<std::string>();
  const auto grpc = i.meta.find(kGrpcPortKey);
  i.port = grpc != i.meta.end() ? port_of(Json(grpc->second)) : 0;
  if (i.port == 0 && in.contains("port")) i.port = port_of(in["port"]);
  if (i.id.empty() || i.address.empty() || i.port == 0) {
    why = "an instance without an instanceId, an ipAddr or a valid port";
    return std::nullopt;
  }
  i.health = text_of(in, "status") == "UP" ? registry::Health::Passing : registry::Health::Critical;
  return i;
}

}  // namespace

std::optional<InstanceSet> parse_application(std::string_view body, std::string& why) {
  const Json v = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!v.is_object() || !v.contains("application") || !v["application"].is_object()) {
    why = "the answer is not {\"application\": {...}}";
    return std::nullopt;
  }
  const Json& app = v["application"];
  const Json none = Json::array();
  const Json& list = app.contains("instance") ? app["instance"] : none;
  if (!list.is_array() && !list.is_object()) {
    why = "application.instance is neither a list nor an object";
    return std::nullopt;
  }
  InstanceSet set;
  auto take = [&](const Json& in) {
    auto instance = instance_of(in, why);
    if (!instance) return false;
    if (instance->name.empty()) instance->name = text_of(app, "name");
    set[instance->id] = std::move(*instance);
    return true;
  };
  if (list.is_object()) {
    if (!take(list)) return std::nullopt;
  } else {
    for (const Json& in : list)
      if (!take(in)) return std::nullopt;
  }
  return set;
}

}  // namespace registrar::discovery::eureka
