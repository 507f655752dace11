#include "registry/zookeeper/owner_record.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace registrar::registry::zookeeper {

std::string owner_record_path(const std::string& owner) {
  std::string name;
  for (char c : owner) {
    if (c == '%') {
      name += "%25";
    } else if (c == '/') {
      name += "%2F";
    } else {
      name += c;
    }
  }
  if (name == "." || name == "..") name = "%2E" + name.substr(1);
  return std::string(kOwnersPath) + "/" + name;
}

std::string session_hex(std::int64_t session) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx",
                static_cast<unsigned long long>(static_cast<std::uint64_t>(session)));
  return buf;
}

std::string owner_record_data(const std::string& owner, std::int64_t session,
                              const std::string& base_path, const std::string& format) {
  nlohmann::ordered_json v;
  v["owner"] = owner;
  v["session"] = session_hex(session);
  v["base_path"] = base_path;
  v["format"] = format;
  return v.dump();
}

std::optional<std::int64_t> owner_record_session(const std::string& data) {
  const auto v = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (!v.is_object() || !v.contains("session") || !v["session"].is_string()) return std::nullopt;
  const std::string hex = v["session"].get<std::string>();
  if (!hex.starts_with("0x") || hex.size() < 3 || hex.size() > 18) return std::nullopt;
  std::uint64_t out = 0;
  for (char c : hex.substr(2)) {
    int d = -1;
    if (c >= '0' && c <= '9') d = c - '0';
    if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    if (d < 0) return std::nullopt;
    out = out * 16 + static_cast<std::uint64_t>(d);
  }
  return static_cast<std::int64_t>(out);
}

}  // namespace registrar::registry::zookeeper
