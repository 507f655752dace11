#include "discovery/etcd_entries.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

namespace registrar::discovery::etcd {

namespace {

// A JSON value as one line of text: strings as they are, anything else as JSON.
std::string text_of(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>()
                       : v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool parse_port(std::string_view digits, std::uint16_t& port) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || value == 0 || value > 65535)
    return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

// The daemon's json format (and the same shape written by others).
std::optional<Instance> from_json_entry(const nlohmann::json& v, std::string_view key_id,
                                        const std::string& name, std::string& why) {
  Instance i;
  i.name = name;
  i.id = v.contains("id") && v["id"].is_string() ? v["id"].get<std::string>() : std::string(key_id);
  if (!v["address"].is_string() || v["address"].get<std::string>().empty()) {
    why = "\"address\" is not a non-empty string";
    return std::nullopt;
  }
  i.address = v["address"].get<std::string>();
  const nlohmann::json& port = v.contains("port") ? v["port"] : nlohmann::json();
  if (!port.is_number_unsigned() || port.get<std::uint64_t>() == 0 ||
      port.get<std::uint64_t>() > 65535) {
    why = "\"port\" is not a port number";
    return std::nullopt;
  }
  i.port = static_cast<std::uint16_t>(port.get<std::uint64_t>());
  if (v.contains("tags") && v["tags"].is_array())
    for (const auto& t : v["tags"]) i.tags.push_back(text_of(t));
  if (v.contains("meta") && v["meta"].is_object())
    for (const auto& [k, m] : v["meta"].items()) i.meta[k] = text_of(m);
  return i;
}

// etcd's gRPC-Go endpoints.Manager: {"Op":0,"Addr":"host:port","Metadata":...}.
std::optional<Instance> from_grpc_go_entry(const nlohmann::json& v, const std::string& name,
                                           std::string& why) {
  if (v.contains("Op") && !(v["Op"].is_number_integer() && v["Op"].get<std::int64_t>() == 0)) {
    why = "a grpc-go entry whose Op is not 0 (Add)";
    return std::nullopt;
  }
  Instance i;
  i.name = name;
  if (!v["Addr"].is_string() || !split_host_port(v["Addr"].get<std::string>(), i.address, i.port)) {
    why = "\"Addr\" is not host:port";
    return std::nullopt;
  }
  i.id = v["Addr"].get<std::string>();
  if (v.contains("Metadata") && v["Metadata"].is_object())
    for (const auto& [k, m] : v["Metadata"].items()) i.meta[k] = text_of(m);
  return i;
}

}  // namespace

KeyRange entries_range(config::EtcdKeyFormat format, const std::string& prefix,
                       const std::string& name) {
  std::string key =
      format == config::EtcdKeyFormat::GrpcGo ? name + "/" : prefix + "/" + name + "/";
  // etcd's prefix range: the key with its last byte incremented ('/' + 1 = '0').
  std::string end = key;
  end.back() = static_cast<char>(end.back() + 1);
  return {std::move(key), std::move(end)};
}

bool split_host_port(std::string_view text, std::string& host, std::uint16_t& port) {
  if (const auto scheme = text.find("://"); scheme != std::string_view::npos)
    text.remove_prefix(scheme + 3);
  if (const auto path = text.find('/'); path != std::string_view::npos) text = text.substr(0, path);
  std::string_view h;
  std::string_view p;
  if (text.starts_with("[")) {
    const auto close = text.find("]:");
    if (close == std::string_view::npos) return false;
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) return false;
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
  }
  if (h.empty() || !parse_port(p, port)) return false;
  host = std::string(h);
  return true;
}

std::optional<Instance> parse_entry(const KeyRange& range, const std::string& name,
                                    std::string_view key, std::string_view value,
                                    std::string& why) {
  if (!key.starts_with(range.key) || key.size() == range.key.size()) {
    why = "not a key of " + name;
    return std::nullopt;
  }
  const std::string_view rest = key.substr(range.key.size());
  if (rest.find('/') != std::string_view::npos) {
    why = "a key below another service's prefix";
    return std::nullopt;
  }
  const auto first = value.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && value[first] == '{') {
    const nlohmann::json v = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (!v.is_object()) {
      why = "a value that is not valid JSON";
      return std::nullopt;
    }
    if (v.contains("Addr")) return from_grpc_go_entry(v, name, why);
    if (v.contains("address")) return from_json_entry(v, rest, name, why);
    why = "a JSON value with neither \"address\" nor \"Addr\"";
    return std::nullopt;
  }
  Instance i;
  i.name = name;
  i.id = std::string(rest);
  std::string_view text = value;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.remove_suffix(1);
  if (!split_host_port(text, i.address, i.port)) {
    why = "a value that is neither JSON nor host:port";
    return std::nullopt;
  }
  return i;
}

}  // namespace registrar::discovery::etcd
