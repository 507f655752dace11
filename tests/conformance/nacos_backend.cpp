#include "conformance/nacos_backend.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "support/http_client.hpp"
#include "support/paths.hpp"
#include "support/require.hpp"

namespace registrar::conformance {

namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr double kScale = 0.2;
constexpr Millis kBeat{1000};  // Nacos's 5 s x 0.2, answered as clientBeatInterval
// The suite's entries (cases.cpp) carry their id in meta `case` and these tags.
const std::vector<std::string> kSuiteTags{"conformance", "v1"};

// The suite's id of a request's instance (its `case` metadata, or the port's owner as the
// request names it), or "" for a request that writes nothing.
std::string nacos_written_id(const json& request, std::map<std::string, std::string>& by_address) {
  const std::string method = request.at("method");
  const std::string path = request.at("path");
  if (path != "/nacos/v1/ns/instance" || (method != "POST" && method != "DELETE")) return "";
  const json& p = request.at("params");
  const std::string address = p.value("ip", "") + ":" + p.value("port", "");
  if (method == "POST") {
    const json meta = json::parse(p.value("metadata", "{}"));
    by_address[address] = meta.value("case", "");
  }
  return by_address[address];
}

}  // namespace

bool NacosBackend::available() {
  return test::need(test::nacos_double_bin().has_value(),
                    "nacos-double not found (target nacos_double, built with go, or "
                    "$REGISTRAR_TEST_NACOS_DOUBLE_BIN)");
}

NacosBackend::NacosBackend() : nacos_({.time_scale = kScale}) {}

config::RegistrySpec NacosBackend::spec() const {
  config::RegistrySpec spec;
  spec.kind = config::RegistryKind::Nacos;
  spec.nacos.servers = {nacos_.host_port()};
  spec.nacos.request_timeout = 1s;
  spec.backoff.initial = 50ms;
  spec.backoff.max = 400ms;
  return spec;
}

std::optional<View> NacosBackend::read() {
  try {
    View view;
    const json all = nacos_.instances();
    if (!all.contains("public")) return view;
    for (const auto& in : all.at("public")) {
      if (!in.at("healthy").get<bool>() || !in.at("enabled").get<bool>()) continue;
      Seen seen;
      const std::string grouped = in.at("serviceName");
      seen.name = grouped.substr(grouped.find("@@") + 2);
      seen.address = in.at("ip");
      seen.port = in.at("port").get<std::uint16_t>();
      seen.meta = in.at("metadata").get<std::map<std::string, std::string>>();
      seen.meta.erase("gRPC_port");  // the backend's own key (docs/nacos.md)
      seen.tags = kSuiteTags;
      seen.healthy = true;
      view.emplace(seen.meta.count("case") ? seen.meta.at("case") : grouped, std::move(seen));
    }
    return view;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

Mark NacosBackend::mark() {
  Mark m;
  for (const auto& r : nacos_.requests(0))
    m.position = std::max(m.position, r.at("seq").get<std::uint64_t>());
  return m;
}

// Registrations and deregistrations count; beats are the keepalives.
Writes NacosBackend::writes_since(const Mark& mark) {
  Writes w;
  std::map<std::string, std::string> by_address;
  for (const auto& r : nacos_.requests(0)) {
    const std::string id = nacos_written_id(r, by_address);
    if (id.empty() || r.at("seq").get<std::uint64_t>() <= mark.position) continue;
    ++w.per_entry[id];
    ++w.total;
  }
  return w;
}

bool NacosBackend::nothing_left() {
  const json all = nacos_.instances();
  return !all.contains("public") || all.at("public").empty();
}

void NacosBackend::remove_from_outside(const registry::Registration& r) {
  const auto answer = nacos_.http().request(
      "DELETE", "/nacos/v1/ns/instance?serviceName=" + test::url_encode(r.name) +
                    "&ip=" + r.address + "&port=" + std::to_string(r.port));
  if (answer.status != 200)
    throw std::runtime_error("deregister " + r.id + ": " + std::to_string(answer.status));
}

void NacosBackend::lose_state() {
  nacos_.restart_wiping_state();
}

void NacosBackend::take_down() {
  nacos_.kill();
}

Millis NacosBackend::state_loss_bound() const {
  // docs/nacos.md: the next beat registers it again (a full beat, or 20404 then a POST).
  return kBeat + kLoadSlack;
}

Millis NacosBackend::outside_removal_bound() const {
  return kBeat + kLoadSlack;  // the same: the next beat finds it gone
}

Millis NacosBackend::quiet_period() const {
  return 2 * kBeat;
}

}  // namespace registrar::conformance
