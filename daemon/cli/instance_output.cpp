#include "cli/instance_output.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "config/address.hpp"

namespace registrar::cli {

namespace {

nlohmann::ordered_json json_of(const discovery::Instance& i, const CheckResults* checks) {
  nlohmann::ordered_json j;
  j["id"] = i.id;
  j["name"] = i.name;
  j["address"] = i.address;
  j["port"] = i.port;
  j["health"] = registry::to_string(i.health);
  j["tags"] = i.tags;
  j["meta"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : i.meta) j["meta"][k] = v;
  if (checks != nullptr) {
    if (auto c = checks->find(i.id); c != checks->end())
      j["check"] = {{"status", c->second.status}, {"latency_ms", c->second.latency_ms}};
  }
  return j;
}

std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out.empty() ? "-" : out;
}

std::string table(const discovery::InstanceSet& set, const CheckResults* checks) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"ID", "ADDRESS", "HEALTH", "TAGS", "META"});
  if (checks != nullptr) rows.front().insert(rows.front().end(), {"CHECK", "LATENCY"});
  for (const auto& [id, i] : set) {
    std::vector<std::string> meta;
    for (const auto& [k, v] : i.meta) meta.push_back(k + "=" + v);
    std::vector<std::string> row{id, config::join_host_port(i.address, i.port),
                                 registry::to_string(i.health), joined(i.tags), joined(meta)};
    if (checks != nullptr) {
      auto c = checks->find(id);
      row.push_back(c == checks->end() ? "-" : c->second.status);
      row.push_back(c == checks->end() ? "-" : std::to_string(c->second.latency_ms) + "ms");
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::size_t> width(rows.front().size(), 0);
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace

OutputFormat output_format(const std::string& name) {
  if (name == "json") return OutputFormat::Json;
  if (name == "addrs") return OutputFormat::Addrs;
  return OutputFormat::Table;
}

std::string render(const discovery::InstanceSet& set, OutputFormat format,
                   const CheckResults* checks) {
  if (set.empty()) return "";
  std::string out;
  switch (format) {
    case OutputFormat::Table:
      return table(set, checks);
    case OutputFormat::Json:
      for (const auto& [id, i] : set) out += dump(json_of(i, checks)) + "\n";
      return out;
    case OutputFormat::Addrs:
      for (const auto& [id, i] : set) {
        if (checks != nullptr) {
          auto c = checks->find(id);
          if (c == checks->end() || !c->second.serving) continue;
        }
        out += config::join_host_port(i.address, i.port) + "\n";
      }
      return out;
  }
  return out;
}

std::string render_event_json(const discovery::Event& event, const std::string& time) {
  nlohmann::ordered_json j;
  j["time"] = time;
  if (!event.ok()) {
    j["error"] = event.error;
    return dump(j);
  }
  j["instances"] = nlohmann::ordered_json::array();
  for (const auto& [id, i] : *event.set) j["instances"].push_back(json_of(i, nullptr));
  return dump(j);
}

}  // namespace registrar::cli
