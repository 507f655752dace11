#include "discovery_itest.hpp"

#include <sstream>

#include "support/paths.hpp"

namespace registrar::itest {

std::map<std::string, nlohmann::json> json_lines_by_id(const std::string& out) {
  std::map<std::string, nlohmann::json> by_id;
  for (const std::string& line : non_empty_lines(out)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    by_id[j.at("id").get<std::string>()] = j;
  }
  return by_id;
}

std::set<std::string> line_set(const std::string& text) {
  const auto lines = non_empty_lines(text);
  return {lines.begin(), lines.end()};
}

WatchProcess::WatchProcess(std::vector<std::string> args)
    : process_(std::make_unique<Process>(*registrar_bin(), std::move(args), EnvVars{}, "watch")) {}

std::vector<nlohmann::json> WatchProcess::events() const {
  std::vector<nlohmann::json> out;
  const std::string text = process_->stdout_text();
  std::istringstream in(text);
  std::string line;
  // Only complete lines: the last one may still be being written.
  while (std::getline(in, line) && !in.eof())
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::optional<nlohmann::json> WatchProcess::wait_for_event(std::size_t seen, Millis timeout) {
  std::optional<nlohmann::json> newest;
  wait_until(
      [&] {
        const auto all = events();
        if (all.size() > seen) newest = all.back();
        return newest.has_value() || !process_->running();
      },
      timeout, 10ms);
  return newest;
}

std::vector<nlohmann::json> WatchProcess::sets() const {
  std::vector<nlohmann::json> out;
  for (nlohmann::json& e : events())
    if (e.contains("instances")) out.push_back(std::move(e));
  return out;
}

std::optional<nlohmann::json> WatchProcess::wait_for_set(std::size_t seen, Millis timeout) {
  std::optional<nlohmann::json> newest;
  wait_until(
      [&] {
        const auto all = sets();
        if (all.size() > seen) newest = all.back();
        return newest.has_value() || !process_->running();
      },
      timeout, 10ms);
  return newest;
}

bool WatchProcess::printed_error(const std::string& text) const {
  for (const nlohmann::json& e : events())
    if (e.contains("error") && e.at("error").get<std::string>().find(text) != std::string::npos)
      return true;
  return false;
}

std::set<std::string> WatchProcess::ids(const nlohmann::json& event) {
  std::set<std::string> out;
  if (!event.contains("instances")) return out;
  for (const auto& i : event.at("instances")) out.insert(i.at("id").get<std::string>());
  return out;
}

}  // namespace registrar::itest
