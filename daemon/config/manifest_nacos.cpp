// The `registry.nacos` section: the servers (tried in order), where instances go (namespace,
// group, cluster), their weight, the request timeout, the login (username, the password from a
// file or $NACOS_PASSWORD) and HTTPS.
#include <array>
#include <chrono>
#include <string_view>

#include "config/address.hpp"
#include "config/duration.hpp"
#include "config/manifest_sections.hpp"

namespace registrar::config {
namespace {

using namespace std::chrono_literals;

constexpr std::array<std::string_view, 9> kNacosKeys{"servers",  "namespace",     "group",
                                                     "cluster",  "weight",        "request_timeout",
                                                     "username", "password_file", "tls"};

// At most a third of Nacos's 15 s heart-beat timeout: one slow answer must leave time for the
// beat to be retried (on this server or the next) before the server marks the instance unhealthy.
constexpr DurationRange kNacosRequestTimeoutRange{10ms, 10min};
constexpr Duration kMaxRequestTimeout{5000};

// Nacos's own limits: Instance.validate's weight range, Cluster's name syntax ([0-9a-zA-Z-]+),
// a namespace id ([\w-]+, at most 128), and a group name (no "@@", which separates group and
// service in Nacos's grouped service names).
constexpr double kMaxWeight = 10000.0;
constexpr std::size_t kMaxNamespaceLength = 128;

bool is_word_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// "host:port", "http://host:port" or "https://host:port" (which asks for TLS); `https` says
// which scheme was written.
std::string server(const Reader& r, const Value& v, std::string_view text, bool& https) {
  std::string_view rest = text;
  https = false;
  if (rest.size() > 8) {
    std::string scheme(rest.substr(0, 8));
    for (char& c : scheme) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (scheme == "https://") {
      https = true;
      rest.remove_prefix(8);
      if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    }
  }
  std::string why;
  std::optional<std::string> address = normalize_etcd_endpoint(rest, why);
  if (!address) r.fail(v, why);
  return *address;
}

// A list of servers, or one string (comma-separated, for ${VAR}). All https:// or none.
std::vector<std::string> nacos_servers(const Reader& r, const Value& v, bool& any_https) {
  std::vector<std::string> out;
  std::optional<bool> scheme_https;
  auto add = [&](const Value& at, std::string part) {
    while (!part.empty() && part.front() == ' ') part.erase(0, 1);
    while (!part.empty() && part.back() == ' ') part.pop_back();
    if (part.empty()) return;
    bool https = false;
    out.push_back(server(r, at, part, https));
    if (scheme_https && *scheme_https != https) {
      r.fail(at, "mixes https:// and plain servers: HTTPS is for all servers or none");
    }
    scheme_https = https;
  };
  if (v.node.IsScalar()) {
    std::string s = r.text(v);
    std::size_t start = 0;
    while (true) {
      std::size_t comma = s.find(',', start);
      add(v, s.substr(start, comma == std::string::npos ? comma : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else {
    for (const Value& item : r.items(v)) add(item, r.text(item));
  }
  if (out.empty()) r.fail(v, "at least one server is required, e.g. [\"127.0.0.1:8848\"]");
  any_https = scheme_https.value_or(false);
  return out;
}

std::string name_with(const Reader& r, const Value& v, bool (*ok)(char), const char* what) {
  std::string s = r.text(v);
  if (s.empty()) r.fail(v, "must not be empty");
  for (char c : s) {
    if (!ok(c)) r.fail(v, std::string(what) + ", got " + r.shown(v, s));
  }
  return s;
}

// username and password_file, or the password from $NACOS_PASSWORD when this backend is used.
void authentication(const Reader& r, const Fields& keys, bool in_use, NacosSpec& n) {
  auto user = Reader::find(keys, "username");
  if (user) {
    n.username = r.text(*user);
    if (n.username.empty()) r.fail(*user, "must not be empty (leave it out for no login)");
    r.no_control_characters(*user, n.username);
  }
  if (auto f = Reader::find(keys, "password_file")) {
    if (!user) r.fail(*f, "needs username as well");
    n.password_file = r.text(*f);
    if (n.password_file.empty()) r.fail(*f, "must not be empty");
    n.password_source = "registry.nacos.password_file (" + n.password_file + ")";
  } else if (user && in_use) {
    std::optional<std::string> pw = r.env()("NACOS_PASSWORD");
    if (!pw || pw->empty()) {
      r.fail(*user, "needs a password: set registry.nacos.password_file (or $NACOS_PASSWORD)");
    }
    r.no_control_characters(
        *user, *pw, "NACOS_PASSWORD must not contain control characters (the value is not shown)");
    n.password = *pw;
    n.password_source = "NACOS_PASSWORD";
  }
}

}  // namespace

NacosSpec read_nacos(const Reader& r, const Value& v, bool in_use) {
  static const std::map<std::string_view, std::string> special{
      {"password",
       "a password is never written in the manifest: use password_file (or $NACOS_PASSWORD)"},
      {"namespace_id", "the key is `namespace` (the namespace's id, e.g. public)"}};
  auto keys = r.fields(v, kNacosKeys, special);
  NacosSpec n;
  bool https = false;
  auto servers_value = Reader::find(keys, "servers");
  if (servers_value) n.servers = nacos_servers(r, *servers_value, https);
  if (auto t = Reader::find(keys, "tls")) {
    n.tls = read_tls(r, *t, /*consul=*/false);
    if (!n.tls.enabled && https) r.fail(*t, "TLS is turned off here but the servers say https://");
  } else if (https) {
    n.tls.enabled = true;
  }
  if (auto ns = Reader::find(keys, "namespace")) {
    n.namespace_id = name_with(
        r, *ns, [](char c) { return is_word_char(c) || c == '-'; },
        "must be a namespace id: letters, digits, '_' and '-'");
    if (n.namespace_id.size() > kMaxNamespaceLength) {
      r.fail(*ns, "must be at most " + std::to_string(kMaxNamespaceLength) + " characters");
    }
  }
  if (auto g = Reader::find(keys, "group")) {
    n.group = name_with(
        r, *g, [](char c) { return is_word_char(c) || c == '-' || c == '.' || c == ':'; },
        "may hold letters, digits, '_', '-', '.' and ':'");
  }
  if (auto c = Reader::find(keys, "cluster")) {
    n.cluster = name_with(
        r, *c,
        [](char ch) {
          return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 ch == '-';
        },
        "may hold letters, digits and '-' only (Nacos's cluster name syntax)");
  }
  if (auto w = Reader::find(keys, "weight")) {
    n.weight = r.number(*w);
    if (!(n.weight >= 0 && n.weight <= kMaxWeight)) {
      r.fail(*w, "must be between 0 and 10000 (Nacos's range), got " + r.text(*w));
    }
  }
  if (auto t = Reader::find(keys, "request_timeout")) {
    n.request_timeout = r.bounded_duration(*t, kNacosRequestTimeoutRange);
    if (n.request_timeout > kMaxRequestTimeout) {
      r.fail(*t,
             "must be at most 5s (a third of Nacos's 15 s heart-beat timeout, so that a slow "
             "server leaves time to retry a beat), got " +
                 format_duration(n.request_timeout));
    }
  }
  authentication(r, keys, in_use, n);
  return n;
}

}  // namespace registrar::config
