#include "netfault_itest.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "support/etcd_server.hpp"
#include "support/http_client.hpp"
#include "support/paths.hpp"
#include "support/require.hpp"

namespace registrar::itest {

bool have_netfault_prerequisites() {
  const std::string why = test::netns_unavailable_reason();
  return need(why.empty(), "network-fault tests: " + why) && have_binaries() &&
         need(test::etcd_bin_found().has_value(), "etcd not found ($REGISTRAR_TEST_ETCD_BIN)");
}

NetService::NetService(test::NetLab& lab, std::string node) : address_(lab.address(node)) {
  const auto bin = test::hello_service_bin();
  if (!bin) throw std::runtime_error("hello-service binary is not available");
  process_ = lab.spawn(node, *bin, {"--listen", address_ + ":50051"}, {}, "hello-service");
  const std::regex listening("^listening on ");
  if (!process_->wait_for_line(test::Stream::Stdout, listening, 10s))
    throw std::runtime_error("hello-service in " + node +
                             " did not start: " + process_->stderr_text());
}

NetEtcd::NetEtcd(test::NetLab& lab, std::vector<std::string> nodes)
    : lab_(lab), nodes_(std::move(nodes)), dir_("registrar-netfault-etcd") {
  members_.resize(nodes_.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i) start(i);
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (!wait_healthy(i, 30s))
      throw std::runtime_error("etcd in " + nodes_[i] +
                               " not healthy: " + members_[i]->stderr_text());
}

NetEtcd::~NetEtcd() {
  for (auto& m : members_)
    if (m) m->kill9();
}

std::string NetEtcd::endpoint(std::size_t i) const {
  return lab_.address(nodes_[i]) + ":2379";
}

std::vector<std::string> NetEtcd::endpoints() const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < nodes_.size(); ++i) out.push_back(endpoint(i));
  return out;
}

std::vector<std::string> NetEtcd::args(std::size_t i) const {
  std::string cluster;
  for (std::size_t m = 0; m < nodes_.size(); ++m)
    cluster += (m ? "," : "") + nodes_[m] + "=http://" + lab_.address(nodes_[m]) + ":2380";
  const std::string addr = lab_.address(nodes_[i]);
  return {"--name=" + nodes_[i],
          "--data-dir=" + (dir_.path() / nodes_[i]).string(),
          "--listen-client-urls=http://" + addr + ":2379,http://127.0.0.1:2379",
          "--advertise-client-urls=http://" + addr + ":2379",
          "--listen-peer-urls=http://" + addr + ":2380",
          "--initial-advertise-peer-urls=http://" + addr + ":2380",
          "--initial-cluster=" + cluster,
          "--initial-cluster-state=new",
          "--initial-cluster-token=netfault",
          "--heartbeat-interval=50",
          "--election-timeout=500",
          "--logger=zap",
          "--log-outputs=stderr",
          "--log-level=warn"};
}

void NetEtcd::start(std::size_t i) {
  if (members_[i] && members_[i]->running()) return;
  members_[i] = lab_.spawn(nodes_[i], test::etcd_bin(), args(i), {}, "etcd-" + nodes_[i]);
}

void NetEtcd::kill9(std::size_t i) {
  if (members_[i]) members_[i]->kill9();
}

bool NetEtcd::wait_healthy(std::size_t i, Millis timeout) {
  return wait_until(
      [&] {
        return lab_.within(nodes_[i], [] { return test::Etcdctl("127.0.0.1:2379", 1s).healthy(); });
      },
      timeout, 100ms);
}

std::optional<std::vector<test::KeyValue>> NetEtcd::get_prefix(std::size_t i,
                                                               const std::string& prefix) {
  return lab_.within(nodes_[i],
                     [&] { return try_get_prefix(test::Etcdctl("127.0.0.1:2379", 1s), prefix); });
}

std::optional<std::vector<std::int64_t>> NetEtcd::leases(std::size_t i) {
  return lab_.within(nodes_[i], [] { return try_lease_list(test::Etcdctl("127.0.0.1:2379", 1s)); });
}

NetConsul::NetConsul(test::NetLab& lab, std::string node)
    : lab_(lab), node_(std::move(node)), address_(lab.address(node_)) {
  start();
}

void NetConsul::start() {
  const auto bin = test::consul_double_bin();
  if (!bin) throw std::runtime_error("consul-double binary is not available");
  if (process_ && process_->running()) return;
  process_ = lab_.spawn(node_, *bin, {"--listen", address_ + ":8500", "--node-address", address_},
                        {}, "consul-double#" + std::to_string(++generation_));
  if (!process_->wait_for_line(test::Stream::Stdout, std::regex("^listening on "), 10s))
    throw std::runtime_error("consul double in " + node_ +
                             " did not start: " + process_->stderr_text());
}

std::optional<nlohmann::json> NetConsul::get(const std::string& target) {
  return lab_.within(node_, [&]() -> std::optional<nlohmann::json> {
    try {
      test::HttpClient http(address_, 8500, 2s);
      const test::HttpResponse r = http.get(target);
      if (r.status != 200) return std::nullopt;
      return nlohmann::json::parse(r.body);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  });
}

Recorder::Recorder(Read read, Millis period) : read_(std::move(read)), period_(period) {
  thread_ = std::thread([this] {
    const long long max_reads = 600'000 / std::max<long long>(period_.count(), 1);
    for (long long n = 0; n < max_reads && !stop_; ++n) {
      Sample s;
      std::optional<std::map<std::string, std::string>> got;
      try {
        got = read_();
      } catch (const std::exception&) {
      }
      s.at = steady_now();
      s.ok = got.has_value();
      if (got) s.entries = std::move(*got);
      {
        std::lock_guard lock(mu_);
        samples_.push_back(std::move(s));
      }
      std::this_thread::sleep_for(period_);
    }
  });
}

Recorder::~Recorder() {
  stop();
}

void Recorder::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::vector<Sample> Recorder::samples() const {
  std::lock_guard lock(mu_);
  return samples_;
}

std::size_t Recorder::answered() const {
  std::size_t n = 0;
  for (const auto& s : samples()) n += s.ok ? 1 : 0;
  return n;
}

namespace {

bool has_state(const Sample& s, const std::string& entry, const std::string& state) {
  const auto it = s.entries.find(entry);
  return it != s.entries.end() && (state.empty() || it->second == state);
}

}  // namespace

bool Recorder::always(const std::string& entry, SteadyTime from, SteadyTime to,
                      const std::string& state) const {
  for (const auto& s : samples())
    if (s.ok && s.at >= from && s.at <= to && !has_state(s, entry, state)) return false;
  return true;
}

std::optional<SteadyTime> Recorder::first_without(const std::string& entry, SteadyTime from,
                                                  const std::string& state) const {
  for (const auto& s : samples())
    if (s.ok && s.at >= from && !has_state(s, entry, state)) return s.at;
  return std::nullopt;
}

std::vector<std::string> Recorder::states(const std::string& entry, SteadyTime from,
                                          SteadyTime to) const {
  std::vector<std::string> out;
  for (const auto& s : samples()) {
    if (!s.ok || s.at < from || s.at > to) continue;
    const auto it = s.entries.find(entry);
    const std::string state = it == s.entries.end() ? "(absent)" : it->second;
    if (std::find(out.begin(), out.end(), state) == out.end()) out.push_back(state);
  }
  return out;
}

std::size_t count_log(const test::Daemon& daemon, const std::regex& re, std::size_t from) {
  const std::string log = daemon.log();
  std::size_t n = 0;
  for (const auto& line : non_empty_lines(from < log.size() ? log.substr(from) : std::string()))
    n += std::regex_search(line, re) ? 1 : 0;
  return n;
}

namespace {

// The local time a log line starts with ("2026-12-06T09:53:30.416 info ..."), as spdlog writes
// it; nullopt if the line does not start so.
std::optional<std::chrono::system_clock::time_point> logged_at(const std::string& line) {
  std::tm tm{};
  int millis = 0;
  if (std::sscanf(line.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis) != 7)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  const std::time_t t = std::mktime(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t) + Millis(millis);
}

}  // namespace

std::optional<Millis> wait_log(test::Daemon& daemon, const std::regex& re, std::size_t from,
                               SteadyTime t0, Millis timeout) {
  const auto line = daemon.wait_for_log(re, timeout, from);
  if (!line) return std::nullopt;
  // When the daemon wrote the line, by its own timestamp (the line may have been there long
  // before this look, e.g. while the test restarted etcd), on the steady clock.
  const auto wall = logged_at(line->line);
  if (!wall) return since(t0);
  const auto age = std::chrono::system_clock::now() - *wall;
  return std::chrono::duration_cast<Millis>(since(t0) - age);
}

std::unique_ptr<test::Daemon> start_daemon(test::NetLab& lab, const std::string& node,
                                           const std::string& yaml) {
  // The daemon is spawned from a thread inside the node: it lives in that namespace.
  return lab.within(node, [&] { return std::make_unique<test::Daemon>(yaml); });
}

}  // namespace registrar::itest
