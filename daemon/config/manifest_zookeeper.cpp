// The `registry.zookeeper` section: servers, chroot and base path, session timeout, entry format,
// resync, ownership, and digest authentication with the ACL of the nodes the daemon creates.
#include <array>
#include <chrono>
#include <string_view>

#include "config/address.hpp"
#include "config/duration.hpp"
#include "config/manifest_sections.hpp"
#include "config/zookeeper_limits.hpp"

namespace registrar::config {
namespace {

using namespace std::chrono_literals;

constexpr std::array<std::string_view, 8> kZooKeeperKeys{"servers",         "chroot", "base_path",
                                                         "session_timeout", "format", "owner",
                                                         "resync_interval", "auth"};
constexpr std::array<std::string_view, 3> kAuthKeys{"username", "password_file", "acl"};

// The C client takes the timeout as int milliseconds; the server clamps it to its own bounds
// (2 to 20 ticks by default), and the negotiated value is what the daemon logs and uses.
constexpr DurationRange kSessionTimeoutRange{1s, 10min};
constexpr DurationRange kResyncIntervalRange{1s, 24h};  // or 0 (off)

constexpr const char* kPasswordVariable = "REGISTRAR_ZOOKEEPER_PASSWORD";

std::string server(const Reader& r, const Value& v, const std::string& text_value) {
  if (text_value.find("://") != std::string::npos)
    r.fail(v, "a ZooKeeper server is host:port, without a scheme, got " + r.shown(v, text_value));
  std::string why;
  std::optional<std::string> s = normalize_etcd_endpoint(text_value, why);
  if (!s) r.fail(v, why);
  return *s;
}

// A list of host:port, or one string (comma-separated, ZooKeeper's connection string, for
// ${VAR}).
std::vector<std::string> zookeeper_servers(const Reader& r, const Value& v) {
  std::vector<std::string> out;
  if (v.node.IsScalar()) {
    const std::string s = r.text(v);
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = s.find(',', start);
      std::string part = s.substr(start, comma == std::string::npos ? comma : comma - start);
      while (!part.empty() && part.front() == ' ') part.erase(0, 1);
      while (!part.empty() && part.back() == ' ') part.pop_back();
      if (!part.empty()) out.push_back(server(r, v, part));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else {
    for (const Value& item : r.items(v)) out.push_back(server(r, item, r.text(item)));
  }
  if (out.empty()) r.fail(v, "at least one server is required");
  return out;
}

// An absolute znode path without a trailing '/', empty segments, "." or "..": what ZooKeeper
// accepts as a path. `root_ok`: "/" itself is allowed (a chroot of "/" is no chroot).
std::string znode_path(const Reader& r, const Value& v, bool root_ok) {
  std::string p = r.text(v);
  if (p.empty() || p.front() != '/') r.fail(v, "must start with \"/\", got " + r.shown(v, p));
  if (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p == "/") {
    if (root_ok) return "";
    r.fail(v, "must name at least one path segment, e.g. /services");
  }
  std::size_t start = 1;
  while (start <= p.size()) {
    const std::size_t slash = std::min(p.find('/', start), p.size());
    const std::string segment = p.substr(start, slash - start);
    if (segment.empty() || segment == "." || segment == "..")
      r.fail(v, "must not contain empty, \".\" or \"..\" segments, got " + r.shown(v, r.text(v)));
    start = slash + 1;
  }
  r.no_control_characters(v, p);
  if (p == "/zookeeper" || p.starts_with("/zookeeper/"))
    r.fail(v, "/zookeeper is ZooKeeper's own subtree, got " + r.shown(v, p));
  return p;
}

// auth: username and password_file (or $REGISTRAR_ZOOKEEPER_PASSWORD when this backend is
// used), and the ACL of the nodes the daemon creates.
void authentication(const Reader& r, const Value& v, bool in_use, ZooKeeperSpec& z) {
  static const std::map<std::string_view, std::string> special{
      {"password", std::string("a password is never written in the manifest: use password_file "
                               "(or $") +
                       kPasswordVariable + ")"}};
  auto keys = r.fields(v, kAuthKeys, special);
  auto user = Reader::find(keys, "username");
  if (!user) r.missing(v, "username");
  z.username = r.text(*user);
  if (z.username.empty()) r.fail(*user, "must not be empty (leave auth out for none)");
  if (z.username.find(':') != std::string::npos)
    r.fail(*user, "must not contain ':' (a digest identity is user:password)");
  r.no_control_characters(*user, z.username);
  if (auto a = Reader::find(keys, "acl")) z.acl = r.choice(*a, kZooKeeperAclNames);
  if (auto f = Reader::find(keys, "password_file")) {
    z.password_file = r.text(*f);
    if (z.password_file.empty()) r.fail(*f, "must not be empty");
    z.password_source = "registry.zookeeper.auth.password_file (" + z.password_file + ")";
  } else if (in_use) {
    std::optional<std::string> pw = r.env()(kPasswordVariable);
    if (!pw || pw->empty()) {
      r.fail(*user, std::string("needs a password: set registry.zookeeper.auth.password_file "
                                "(or $") +
                        kPasswordVariable + ")");
    }
    r.no_control_characters(*user, *pw,
                            std::string(kPasswordVariable) +
                                " must not contain control characters (the value is not shown)");
    z.password = *pw;
    z.password_source = kPasswordVariable;
  }
}

}  // namespace

ZooKeeperSpec read_zookeeper(const Reader& r, const Value& v, bool in_use) {
  auto keys = r.fields(v, kZooKeeperKeys);
  ZooKeeperSpec z;
  if (auto s = Reader::find(keys, "servers")) z.servers = zookeeper_servers(r, *s);
  if (auto c = Reader::find(keys, "chroot")) z.chroot = znode_path(r, *c, /*root_ok=*/true);
  if (auto b = Reader::find(keys, "base_path")) z.base_path = znode_path(r, *b, false);
  if (auto t = Reader::find(keys, "session_timeout"))
    z.session_timeout = r.bounded_duration(*t, kSessionTimeoutRange);
  if (auto f = Reader::find(keys, "format")) z.format = r.choice(*f, kZooKeeperFormatNames);
  if (auto t = Reader::find(keys, "resync_interval"))
    z.resync_interval = r.duration_or_off(*t, kResyncIntervalRange);
  if (auto o = Reader::find(keys, "owner")) {
    z.owner = r.text(*o);
    if (z.owner.empty()) r.fail(*o, "must not be empty (leave it out for <hostname>:<manifest>)");
    r.no_control_characters(*o, z.owner);
  }
  if (auto a = Reader::find(keys, "auth")) authentication(r, *a, in_use, z);
  return z;
}

void check_zookeeper_names(const Manifest& m) {
  if (m.registry.kind != RegistryKind::ZooKeeper) return;
  for (std::size_t i = 0; i < m.services.size(); ++i) {
    const ServiceSpec& s = m.services[i];
    for (const std::string* part : {&s.name, &s.id}) {
      if (*part == "." || *part == "..") {
        throw ConfigError(s.location, "services[" + std::to_string(i) + "]",
                          (part == &s.name ? "name " : "id ") + quoted(*part) +
                              " cannot be a ZooKeeper node's name");
      }
    }
    if (m.registry.zookeeper.format != ZooKeeperFormat::Curator) continue;
    for (const char* reserved : {kZooKeeperGrpcPortKey, kZooKeeperTagsKey}) {
      if (s.meta.count(reserved) != 0) {
        throw ConfigError(
            s.location, "services[" + std::to_string(i) + "].meta",
            "key " + quoted(reserved) + " is reserved: the curator format writes it itself");
      }
    }
  }
}

}  // namespace registrar::config
