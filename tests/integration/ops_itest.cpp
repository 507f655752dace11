#include "ops_itest.hpp"

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#include "support/paths.hpp"

namespace registrar::itest {

std::filesystem::path source_dir() {
  return REGISTRAR_SOURCE_DIR;
}

std::filesystem::path binary_dir() {
  return REGISTRAR_BINARY_DIR;
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::uint16_t> wait_for_status_port(Process& daemon, Millis timeout) {
  const auto m = daemon.wait_for_line(
      Stream::Stderr, std::regex(R"(status: listening on [0-9.]+:([0-9]+))"), timeout);
  if (!m) return std::nullopt;
  return static_cast<std::uint16_t>(std::stoi(m->groups.at(1)));
}

std::optional<status::HttpResult> http(std::uint16_t port, const std::string& path,
                                       const std::string& method) {
  std::string error;
  return status::http_request("127.0.0.1", port, method, path, 5s, error);
}

std::optional<double> metric(const std::string& exposition, const std::string& series) {
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

std::unique_ptr<Process> start_registrar(const std::vector<std::string>& args, const EnvVars& env) {
  const auto bin = registrar_bin();
  if (!bin) throw std::runtime_error("grpc-registrar binary is not available");
  return std::make_unique<Process>(*bin, args, env, "grpc-registrar");
}

std::vector<std::string> help_flags(const std::vector<std::string>& subcommand) {
  std::vector<std::string> args = subcommand;
  args.push_back("--help");
  const CommandResult r = run_registrar(args);
  if (!r.status.exited_with(0)) throw std::runtime_error("--help failed: " + r.err);
  std::set<std::string> flags;
  const std::regex flag(R"((^|[ ,])(--[a-z][a-z0-9-]*))");
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    // Option lines start with two spaces and a dash; descriptions never start with one.
    if (line.rfind("  -", 0) != 0) continue;
    const std::string head = line.substr(0, line.find("  ", 2));
    for (auto it = std::sregex_iterator(head.begin(), head.end(), flag);
         it != std::sregex_iterator(); ++it)
      flags.insert((*it)[2]);
  }
  return {flags.begin(), flags.end()};
}

}  // namespace registrar::itest
