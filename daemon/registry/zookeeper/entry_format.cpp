#include "registry/zookeeper/entry_format.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "config/address.hpp"

namespace registrar::registry::zookeeper {

namespace {

using Json = nlohmann::ordered_json;  // Curator's field order, as Jackson writes it

constexpr const char* kMemberPrefix = "member_";

// The manifest's strings are valid UTF-8 (config/utf8.hpp); should one not be, it is written
// with U+FFFD rather than throwing.
std::string dump(const Json& v) {
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string child_name(config::ZooKeeperFormat format, const std::string& id) {
  return format == config::ZooKeeperFormat::Serverset ? kMemberPrefix + id : id;
}

std::string join(const std::vector<std::string>& parts, char sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : std::string(1, sep)) + p;
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t at = std::min(s.find(sep, start), s.size());
    out.push_back(s.substr(start, at - start));
    start = at + 1;
  }
  return out;
}

std::optional<std::uint16_t> port_of(const Json& v) {
  if (!v.is_number_integer()) return std::nullopt;
  const auto p = v.get<std::int64_t>();
  if (p < 1 || p > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(p);
}

std::optional<Decoded> decode_curator(const Json& v, Decoded d) {
  const auto port = port_of(v.value("port", Json()));
  if (!port || !v.contains("address") || !v["address"].is_string()) return std::nullopt;
  d.address = v["address"].get<std::string>();
  d.port = *port;
  const Json time = v.value("registrationTimeUTC", Json());
  d.registration_ms = time.is_number_integer() ? time.get<std::int64_t>() : 0;
  const Json payload = v.value("payload", Json());
  if (payload.is_object() && payload.contains("metadata") && payload["metadata"].is_object()) {
    for (const auto& [k, val] : payload["metadata"].items()) {
      if (!val.is_string()) continue;
      if (k == kTagsKey) {
        d.tags = split(val.get<std::string>(), ',');
      } else if (k != kGrpcPortKey) {
        d.meta[k] = val.get<std::string>();
      }
    }
  }
  return d;
}

std::optional<Decoded> decode_gokit(const std::string& data, Decoded d) {
  // host:port, [v6]:port
  const std::size_t colon = data.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  std::string host = data.substr(0, colon);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const char* first = data.data() + colon + 1;
  const char* last = data.data() + data.size();
  const auto [ptr, ec] = std::from_chars(first, last, port);
  if (ec != std::errc() || ptr != last || port < 1 || port > 65535) return std::nullopt;
  d.address = host;
  d.port = static_cast<std::uint16_t>(port);
  return d;
}

std::optional<Decoded> decode_host_port(const Json& host, const Json& port, Decoded d) {
  const auto p = port_of(port);
  if (!p || !host.is_string()) return std::nullopt;
  d.address = host.get<std::string>();
  d.port = *p;
  return d;
}

}  // namespace

std::string curator_data(const Registration& r, std::int64_t registration_ms) {
  Json metadata = Json::object();
  for (const auto& [k, v] : r.meta) metadata[k] = v;
  metadata[kGrpcPortKey] = std::to_string(r.port);
  if (!r.tags.empty()) metadata[kTagsKey] = join(r.tags, ',');
  Json payload = Json::object();
  payload["@class"] = kSpringInstanceClass;
  payload["id"] = r.id;
  payload["name"] = r.name;
  payload["metadata"] = std::move(metadata);
  Json v = Json::object();
  v["name"] = r.name;
  v["id"] = r.id;
  v["address"] = r.address;
  v["port"] = r.port;
  v["sslPort"] = nullptr;
  v["payload"] = std::move(payload);
  v["registrationTimeUTC"] = registration_ms;
  v["serviceType"] = "DYNAMIC";
  v["uriSpec"] = nullptr;
  return dump(v);
}

std::string gokit_data(const Registration& r) {
  return config::join_host_port(r.address, r.port);
}

std::string serverset_data(const Registration& r) {
  Json endpoint = Json::object();
  endpoint["host"] = r.address;
  endpoint["port"] = r.port;
  Json v = Json::object();
  v["serviceEndpoint"] = std::move(endpoint);
  v["additionalEndpoints"] = Json::object();
  v["status"] = "ALIVE";
  return dump(v);
}

std::string nerve_data(const Registration& r) {
  Json v = Json::object();
  v["host"] = r.address;
  v["port"] = r.port;
  v["name"] = r.id;
  return dump(v);
}

std::string entry_path(config::ZooKeeperFormat format, const std::string& base_path,
                       const Registration& r) {
  return base_path + "/" + r.name + "/" + child_name(format, r.id);
}

Entry encode(config::ZooKeeperFormat format, const std::string& base_path, const Registration& r,
             std::int64_t registration_ms) {
  Entry e{entry_path(format, base_path, r), ""};
  switch (format) {
    case config::ZooKeeperFormat::Curator:
      e.data = curator_data(r, registration_ms);
      break;
    case config::ZooKeeperFormat::GoKit:
      e.data = gokit_data(r);
      break;
    case config::ZooKeeperFormat::Serverset:
      e.data = serverset_data(r);
      break;
    case config::ZooKeeperFormat::Nerve:
      e.data = nerve_data(r);
      break;
  }
  return e;
}

std::optional<Decoded> decode(config::ZooKeeperFormat format, const std::string& base_path,
                              const std::string& path, const std::string& data) {
  // <base>/<name>/<child>
  if (!path.starts_with(base_path + "/")) return std::nullopt;
  const std::string rest = path.substr(base_path.size() + 1);
  const std::size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || rest.find('/', slash + 1) != std::string::npos)
    return std::nullopt;
  Decoded d;
  d.name = rest.substr(0, slash);
  d.id = rest.substr(slash + 1);
  if (format == config::ZooKeeperFormat::Serverset) {
    if (!d.id.starts_with(kMemberPrefix)) return std::nullopt;
    d.id = d.id.substr(std::char_traits<char>::length(kMemberPrefix));
  }
  if (d.id.empty()) return std::nullopt;
  if (format == config::ZooKeeperFormat::GoKit) return decode_gokit(data, std::move(d));
  const Json v = Json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (!v.is_object()) return std::nullopt;
  switch (format) {
    case config::ZooKeeperFormat::Curator:
      return decode_curator(v, std::move(d));
    case config::ZooKeeperFormat::Serverset: {
      const Json ep = v.value("serviceEndpoint", Json());
      if (!ep.is_object() || v.value("status", Json()) != Json("ALIVE")) return std::nullopt;
      return decode_host_port(ep.value("host", Json()), ep.value("port", Json()), std::move(d));
    }
    case config::ZooKeeperFormat::Nerve:
      return decode_host_port(v.value("host", Json()), v.value("port", Json()), std::move(d));
    case config::ZooKeeperFormat::GoKit:
      break;
  }
  return std::nullopt;
}

}  // namespace registrar::registry::zookeeper
