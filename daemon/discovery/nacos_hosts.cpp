#include "discovery/nacos_hosts.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "registry/nacos/nacos_api.hpp"

namespace registrar::discovery::nacos {

namespace {

using Json = nlohmann::json;
using registry::nacos::form_escape;

std::string text_of(const Json& o, const char* key) {
  return o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : "";
}

std::uint16_t port_of(const Json& v) {
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

// "GROUP@@svc" -> "svc"
std::string plain_name(const std::string& grouped) {
  const std::size_t at = grouped.find("@@");
  return at == std::string::npos ? grouped : grouped.substr(at + 2);
}

std::optional<Instance> instance_of(const Json& h, const std::string& service, std::string& why) {
  if (!h.is_object()) {
    why = "a host that is not a JSON object";
    return std::nullopt;
  }
  Instance i;
  i.name = plain_name(h.contains("serviceName") ? text_of(h, "serviceName") : service);
  if (i.name.empty()) i.name = plain_name(service);
  i.address = text_of(h, "ip");
  if (h.contains("metadata") && h["metadata"].is_object())
    for (const auto& [k, v] : h["metadata"].items())
      if (v.is_string()) i.meta[k] = v.get<std::string>();
  const auto grpc = i.meta.find(kGrpcPortKey);
  i.port = grpc != i.meta.end() ? port_of(Json(grpc->second)) : 0;
  const std::uint16_t port = h.contains("port") ? port_of(h["port"]) : 0;
  if (i.port == 0) i.port = port;
  if (i.address.empty() || port == 0) {
    why = "a host without an ip or a valid port";
    return std::nullopt;
  }
  i.id = text_of(h, "instanceId");
  if (i.id.empty())
    i.id = i.address + "#" + std::to_string(port) + "#" + text_of(h, "clusterName") + "#" + service;
  const Json healthy = h.contains("healthy") ? h["healthy"] : Json(true);
  i.health = healthy == Json(true) ? registry::Health::Passing : registry::Health::Critical;
  return i;
}

}  // namespace

registry::http::HttpRequest list_request(const config::NacosSpec& spec, const Query& query,
                                         const std::string& token) {
  registry::http::HttpRequest req;
  req.method = registry::http::Method::Get;
  req.target = "/nacos/v1/ns/instance/list?serviceName=" + form_escape(query.name) +
               "&groupName=" + form_escape(spec.group) +
               "&namespaceId=" + form_escape(spec.namespace_id) +
               "&healthyOnly=" + (query.healthy_only ? "true" : "false");
  if (!token.empty()) req.target += "&accessToken=" + form_escape(token);
  return req;
}

std::optional<InstanceSet> parse_instance_list(std::string_view body, std::string& why) {
  const Json v = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!v.is_object() || !v.contains("hosts") || !v["hosts"].is_array()) {
    why = "the answer is not {\"hosts\": [...]}";
    return std::nullopt;
  }
  const std::string service = text_of(v, "name");
  InstanceSet set;
  for (const Json& h : v["hosts"]) {
    auto instance = instance_of(h, service, why);
    if (!instance) return std::nullopt;
    if (h.contains("enabled") && h["enabled"] == Json(false)) continue;
    set[instance->id] = std::move(*instance);
  }
  return set;
}

}  // namespace registrar::discovery::nacos
