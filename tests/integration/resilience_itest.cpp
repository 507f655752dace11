#include "resilience_itest.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace registrar::itest {

namespace {

void insert_after(std::string& text, const std::string& anchor, const std::string& what,
                  std::size_t from = 0) {
  const auto at = text.find(anchor, from);
  if (at == std::string::npos) throw std::logic_error("manifest: no '" + anchor + "'");
  text.insert(at + anchor.size(), what);
}

}  // namespace

std::string manifest_yaml(const ManifestParams& p, const ManifestExtras& x) {
  std::string y = manifest_yaml(p);
  // The defaults line's thresholds (a liveness_interval may follow them).
  const std::string thresholds = "rise: 1, fall: 1";
  const auto t = y.find("  probe: {");
  const auto r = t == std::string::npos ? t : y.find(thresholds, t);
  if (r == std::string::npos) throw std::logic_error("manifest: no default thresholds");
  y.replace(r, thresholds.size(),
            "rise: " + std::to_string(x.rise) + ", fall: " + std::to_string(x.fall));
  if (!x.owner.empty()) {
    insert_after(y, "    resync_interval: " + p.resync_interval + "\n",
                 "    owner: " + nlohmann::json(x.owner).dump() + "\n");
  }
  for (const auto& [id, rf] : x.thresholds) {
    const auto at = y.find("    id: " + nlohmann::json(id).dump() + "\n");
    if (at == std::string::npos) throw std::logic_error("manifest: no service " + id);
    insert_after(y, "    probe:\n",
                 "      rise: " + std::to_string(rf.first) +
                     "\n      fall: " + std::to_string(rf.second) + "\n",
                 at);
  }
  if (!x.shutdown_timeout.empty()) y += "shutdown_timeout: " + x.shutdown_timeout + "\n";
  return y;
}

void replace_file(const std::filesystem::path& path, const std::string& text) {
  const auto tmp = path.string() + ".new";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path);
}

std::size_t count_lines(const std::string& text, const std::regex& re) {
  std::size_t n = 0;
  for (const auto& line : non_empty_lines(text))
    if (std::regex_search(line, re)) ++n;
  return n;
}

std::optional<std::int64_t> try_revision(const Etcdctl& ctl) {
  try {
    return ctl.revision();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<std::int64_t> wait_for_quiet(const Etcdctl& ctl, Millis quiet, Millis timeout) {
  std::optional<std::int64_t> last;
  SteadyTime since = std::chrono::steady_clock::now();
  const bool ok = wait_until(
      [&] {
        const auto rev = try_revision(ctl);
        const auto now = std::chrono::steady_clock::now();
        if (!rev || rev != last) {
          last = rev;
          since = now;
          return false;
        }
        return now - since >= quiet;
      },
      timeout, 100ms);
  return ok ? last : std::nullopt;
}

// ---- RegistryRecorder ------------------------------------------------------------------------

RegistryRecorder::RegistryRecorder(std::string endpoints, std::string prefix, Millis period)
    : ctl_(std::move(endpoints), 1s), prefix_(std::move(prefix)), period_(period) {
  thread_ = std::thread([this] { loop(); });
}

RegistryRecorder::~RegistryRecorder() {
  stop();
}

void RegistryRecorder::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::vector<Snapshot> RegistryRecorder::snapshots() const {
  std::lock_guard lock(mu_);
  return snapshots_;
}

std::size_t RegistryRecorder::count() const {
  std::lock_guard lock(mu_);
  return snapshots_.size();
}

void RegistryRecorder::loop() {
  // Bounded: one read per period (each read itself bounded by etcdctl's timeouts) until stop().
  while (!stop_) {
    Snapshot s;
    const auto started = std::chrono::steady_clock::now();
    const CommandResult r = ctl_.run_raw({"get", prefix_, "--prefix", "-w", "json"});
    s.at = std::chrono::steady_clock::now();
    if (r.status.exited_with(0)) {
      try {
        const auto doc = nlohmann::json::parse(r.out);
        s.revision = doc.at("header").at("revision").get<std::int64_t>();
        if (doc.contains("kvs")) {
          for (const auto& kv : doc.at("kvs")) {
            KeyValue v;
            v.key = base64_decode(kv.at("key").get<std::string>());
            v.value = base64_decode(kv.value("value", std::string()));
            v.lease = kv.value("lease", std::int64_t{0});
            v.create_revision = kv.value("create_revision", std::int64_t{0});
            v.mod_revision = kv.value("mod_revision", std::int64_t{0});
            v.version = kv.value("version", std::int64_t{0});
            s.kvs.emplace(v.key, v);
          }
        }
        s.ok = true;
      } catch (const std::exception&) {
        s.ok = false;
      }
    }
    {
      std::lock_guard lock(mu_);
      snapshots_.push_back(std::move(s));
    }
    const auto next = started + period_;
    while (!stop_ && std::chrono::steady_clock::now() < next)
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          5ms, next - std::chrono::steady_clock::now()));
  }
}

Millis RegistryRecorder::max_gap(const std::vector<Snapshot>& snaps, const std::string& key,
                                 SteadyTime from, SteadyTime to) {
  Millis worst{0};
  std::optional<SteadyTime> since;  // first read that missed the key since etcd answered
  SteadyTime last{};
  for (const auto& s : snaps) {
    if (s.at < from || s.at > to) continue;
    last = s.at;
    if (!s.ok) {  // etcd down: nobody can read anything; count from when it answers again
      since.reset();
      continue;
    }
    if (s.kvs.contains(key)) {
      if (since) worst = std::max(worst, std::chrono::duration_cast<Millis>(s.at - *since));
      since.reset();
    } else if (!since) {
      since = s.at;
    }
  }
  if (since) worst = std::max(worst, std::chrono::duration_cast<Millis>(last - *since));
  return worst;
}

bool RegistryRecorder::always_present(const std::vector<Snapshot>& snaps, const std::string& key,
                                      SteadyTime from, SteadyTime to) {
  for (const auto& s : snaps)
    if (s.at >= from && s.at <= to && s.ok && !s.kvs.contains(key)) return false;
  return true;
}

std::int64_t RegistryRecorder::writes(const std::vector<Snapshot>& snaps) {
  std::int64_t total = 0;
  std::optional<std::int64_t> prev;
  for (const auto& s : snaps) {
    if (!s.ok) continue;
    if (prev) total += s.revision >= *prev ? s.revision - *prev : s.revision - 1;
    prev = s.revision;
  }
  return total;
}

// ---- EtcdCluster -----------------------------------------------------------------------------

EtcdCluster::EtcdCluster() : dir_("registrar-etcd-cluster") {
  const auto ports = free_ports(2 * kMembers);
  std::string initial;
  for (int i = 0; i < kMembers; ++i) {
    client_ports_.push_back(ports[static_cast<std::size_t>(2 * i)]);
    peer_ports_.push_back(ports[static_cast<std::size_t>(2 * i + 1)]);
    initial += (i ? "," : "") + std::string("m") + std::to_string(i) +
               "=http://127.0.0.1:" + std::to_string(peer_ports_.back());
  }
  for (int i = 0; i < kMembers; ++i) {
    const std::string client = "http://" + endpoint(i);
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_ports_[i]);
    members_.push_back(std::make_unique<Process>(
        etcd_bin(),
        std::vector<std::string>{
            "--name=m" + std::to_string(i),
            "--data-dir=" + (dir_.path() / ("m" + std::to_string(i))).string(),
            "--listen-client-urls=" + client, "--advertise-client-urls=" + client,
            "--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
            "--initial-cluster=" + initial, "--initial-cluster-state=new",
            "--initial-cluster-token=itest", "--heartbeat-interval=50", "--election-timeout=500",
            "--logger=zap", "--log-outputs=stderr", "--log-level=warn"},
        EnvVars{}, "etcd-m" + std::to_string(i)));
  }
  const bool up = wait_until(
      [&] {
        for (int i = 0; i < kMembers; ++i)
          if (!members_[static_cast<std::size_t>(i)]->running() ||
              !Etcdctl(endpoint(i), 1s).healthy())
            return false;
        return true;
      },
      30s, 100ms);
  if (!up) throw std::runtime_error("etcd cluster did not become healthy");
}

EtcdCluster::~EtcdCluster() {
  for (auto& m : members_) m->kill9();
}

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> out;
  for (int i = 0; i < kMembers; ++i) out.push_back(endpoint(i));
  return out;
}

Etcdctl EtcdCluster::ctl(int except) const {
  std::string eps;
  for (int i = 0; i < kMembers; ++i)
    if (i != except) eps += (eps.empty() ? "" : ",") + endpoint(i);
  return Etcdctl(eps);
}

void EtcdCluster::kill9(int i) {
  members_.at(static_cast<std::size_t>(i))->kill9();
}

int EtcdCluster::member_of(const std::string& ep) const {
  for (int i = 0; i < kMembers; ++i)
    if (endpoint(i) == ep) return i;
  return -1;
}

}  // namespace registrar::itest
