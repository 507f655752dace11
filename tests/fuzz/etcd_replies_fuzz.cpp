// Fuzz target "etcd_replies": what the etcd backend reads from etcd. The first byte picks the
// kind; for 0-4 the rest is a serialized etcdserverpb message, parsed with ParseFromArray (a
// message that does not parse is what gRPC would refuse before the backend sees it):
//   0 LeaseGrantResponse -> read_grant      1 LeaseKeepAliveResponse -> read_keepalive
//   2 TxnResponse -> owner_record_lease     3 LeaseTimeToLiveResponse -> read_adoption
//   4 TxnResponse -> read_ranges, then reconcile_plan on what it concluded
//   5 a gRPC status (code byte, message) -> classify_failure
//   6 a Registration (NUL-separated fields) -> format_entry in all three key formats
//   7 desired/written/maybe-present maps (length-prefixed records) -> reconcile_plan::plan
//   8 a refused call's gRPC status (code byte, message) -> etcd_auth: classify_auth_reply,
//     should_reauthenticate, describe_authenticate_failure, explain_refusal
//   9 a failed connection's status message -> connect_diagnosis: last_connect_error,
//     explain_connect_failure, under four TLS settings
// Invariants are listed at each reader below.
#include <google/protobuf/stubs/logging.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/address.hpp"
#include "config/utf8.hpp"
#include "fuzz_support.hpp"
#include "registry/etcd/connect_diagnosis.hpp"
#include "registry/etcd/etcd_auth.hpp"
#include "registry/etcd/key_format.hpp"
#include "registry/etcd/reconcile_plan.hpp"
#include "registry/etcd/reply_parse.hpp"

namespace registrar::fuzz {
namespace {

using namespace registry::etcd;
using registry::Registration;

constexpr std::int64_t kLease = 0x694d7a1c2e3b4f50;
constexpr std::int64_t kStaleLease = 0x694d7a1c2e3b4f10;
const std::string kOwnerKey = "/grpc-registrar/owners/fuzz-host:/etc/grpc-registrar.yaml";

template <class Message>
bool parse(Message& m, std::string_view bytes) {
  return m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

Registration registration(const char* name, const char* id, std::uint16_t port) {
  Registration r;
  r.name = name;
  r.id = id;
  r.address = "127.0.0.1";
  r.port = port;
  r.tags = {"v1"};
  r.meta = {{"zone", "a"}};
  r.health = registry::Health::Passing;
  return r;
}

// The backend's picture: two desired entries and the ownership record, a key left by an earlier
// lease of ours, and a key of someone else.
struct Picture {
  std::map<std::string, std::string> wanted;
  std::map<std::string, std::string> named;  // key -> id
  std::vector<std::string> keys;             // what a verify Txn reads, in order
};

const Picture& picture() {
  static const Picture p = [] {
    Picture p;
    for (const auto& r :
         {registration("hello", "hello-1", 50051), registration("world", "world-1", 50052)}) {
      Entry e = format_entry(config::EtcdKeyFormat::Json, "/services", r);
      p.wanted.emplace(e.key, e.value);
      p.named.emplace(e.key, r.id);
      p.keys.push_back(e.key);
    }
    p.wanted.emplace(kOwnerKey, R"({"lease":"694d7a1c2e3b4f50","owner":"fuzz"})");
    p.keys.insert(p.keys.begin(), kOwnerKey);
    p.named.emplace("/services/gone/gone-1", "gone-1");  // named, but not healthy
    p.keys.push_back("/services/gone/gone-1");
    p.keys.push_back("/services/other/other-1");
    return p;
  }();
  return p;
}

// Granted: a lease, a TTL etcd could give, and one the keepalive schedule can do arithmetic on
// (as EtcdRegistry does: steady_clock durations, a third of the TTL in milliseconds).
void grant(std::string_view bytes) {
  etcdserverpb::LeaseGrantResponse resp;
  if (!parse(resp, bytes)) return;
  const GrantReply g = read_grant(resp);
  check(g.id == resp.id(), "read_grant lost the lease id");
  if (!g.refusal.empty()) return;
  check(g.id != 0, "read_grant accepted lease 0");
  check(g.ttl_s >= 1 && g.ttl_s <= kMaxLeaseTtlSeconds, "read_grant accepted a TTL out of range");
  const std::chrono::steady_clock::duration ttl = std::chrono::seconds(g.ttl_s);
  const auto third = std::chrono::duration_cast<std::chrono::milliseconds>(ttl) / 3;
  check(third.count() >= 0 && ttl.count() > 0, "a granted TTL overflows steady_clock");
}

void keepalive(std::string_view bytes) {
  etcdserverpb::LeaseKeepAliveResponse resp;
  if (!parse(resp, bytes)) return;
  const KeepAliveReply r = read_keepalive(resp, kLease);
  check(read_keepalive(resp, 0) == KeepAliveReply::Ignore, "a keepalive counted with no lease");
  if (resp.id() != kLease) check(r == KeepAliveReply::Ignore, "another lease's keepalive counted");
  if (r == KeepAliveReply::Renewed) check(resp.ttl() > 0, "renewed with TTL <= 0");
}

void owner_record(std::string_view bytes) {
  etcdserverpb::TxnResponse resp;
  if (!parse(resp, bytes)) return;
  const std::int64_t lease = owner_record_lease(resp);
  if (resp.responses_size() == 0 || resp.responses(0).response_range().kvs_size() == 0) {
    check(lease == 0, "owner_record_lease found a record in an empty answer");
  }
}

// Inherited ids are ids the manifest names; the ownership record is never adopted as an entry;
// every key is counted once, as inherited or removed.
void adoption(std::string_view bytes) {
  etcdserverpb::LeaseTimeToLiveResponse resp;
  if (!parse(resp, bytes)) return;
  const Picture& p = picture();
  const Adoption a = read_adoption(resp, kOwnerKey, p.named);
  check(a.alive == (resp.ttl() > 0), "read_adoption: alive does not follow the TTL");
  if (!a.alive) {
    check(a.keys.empty() && a.inherited.empty() && a.removed == 0, "adopted from a dead lease");
    return;
  }
  check(!a.keys.contains(kOwnerKey), "the ownership record was adopted as an entry");
  std::set<std::string> ids;
  std::size_t named_keys = 0;
  for (const auto& key : a.keys) {
    if (auto it = p.named.find(key); it != p.named.end()) {
      ids.insert(it->second);
      ++named_keys;
    }
  }
  check(a.inherited == ids, "read_adoption: inherited ids differ from the named keys' ids");
  check(named_keys + a.removed == a.keys.size(), "read_adoption: keys counted wrongly");
}

// The verdicts follow the Range results; applied to the backend's picture as EtcdRegistry does,
// the next reconcile_plan writes every key that differs, deletes every stray one, and leaves
// confirmed and foreign keys alone.
void ranges(std::string_view bytes) {
  etcdserverpb::TxnResponse resp;
  if (!parse(resp, bytes)) return;
  const Picture& p = picture();
  const std::vector<std::int64_t> ours{kLease, kStaleLease};
  const std::vector<KeyCheck> checks = read_ranges(resp, p.keys, p.wanted, kLease, ours);
  const std::size_t n = std::min<std::size_t>(p.keys.size(), resp.responses_size());
  check(checks.size() == n, "read_ranges: one verdict per answered key");

  std::map<std::string, std::string> written = p.wanted;  // we believed all was written
  std::set<std::string> maybe_present{"/services/gone/gone-1"};
  for (std::size_t i = 0; i < checks.size(); ++i) {
    const KeyCheck& c = checks[i];
    check(c.key == p.keys[i], "read_ranges: verdicts out of order");
    const bool wanted = p.wanted.contains(c.key);
    const auto& kvs = resp.responses(static_cast<int>(i)).response_range().kvs();
    switch (c.state) {
      case KeyState::Confirmed:
        check(wanted && !kvs.empty() && kvs[0].lease() == kLease &&
                  kvs[0].value() == p.wanted.at(c.key),
              "read_ranges confirmed a key that is not as wanted");
        break;
      case KeyState::Differs:
        check(wanted, "read_ranges: an unwanted key differs");
        written.erase(c.key);
        break;
      case KeyState::Stray:
        check(
            !wanted && !kvs.empty() && (kvs[0].lease() == kLease || kvs[0].lease() == kStaleLease),
            "read_ranges: a stray key not on a lease of ours");
        maybe_present.insert(c.key);
        break;
      case KeyState::NotOurs:
        check(!wanted, "read_ranges: a wanted key is not ours");
        maybe_present.erase(c.key);
        break;
    }
  }
  std::set<std::string> puts;
  std::set<std::string> deletes;
  for (const Batch& b : plan(p.wanted, written, maybe_present))
    for (const Op& op : b) (op.kind == Op::Kind::Put ? puts : deletes).insert(op.key);
  for (const KeyCheck& c : checks) {
    const bool put = puts.contains(c.key);
    const bool del = deletes.contains(c.key);
    switch (c.state) {
      case KeyState::Confirmed:
        check(!put && !del, "a confirmed key is written again");
        break;
      case KeyState::Differs:
        check(put && !del, "a key that differs is not written again");
        break;
      case KeyState::Stray:
        check(del && !put, "a stray key of ours is not deleted");
        break;
      case KeyState::NotOurs:
        check(!put && !del, "someone else's key is touched");
        break;
    }
  }
}

void failure(std::string_view rest) {
  if (rest.empty()) return;
  const auto code = static_cast<grpc::StatusCode>(static_cast<unsigned char>(rest[0]) % 17);
  const grpc::Status status(code, std::string(rest.substr(1)));
  const Failure f = classify_failure(status);
  const bool unreachable =
      code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED;
  check((f == Failure::Unreachable) == unreachable, "classify_failure: connectivity misread");
  if (f == Failure::LeaseNotFound) check(code == grpc::StatusCode::NOT_FOUND, "lease not found?");
  if (f == Failure::TooManyOps) check(code == grpc::StatusCode::INVALID_ARGUMENT, "too many?");
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    const auto at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

// Fields name, id, address, port (two bytes), tags (',' separated), meta ("k=v" separated by
// ','), NUL between fields. Strings must be valid UTF-8, as the manifest parser guarantees.
// json values carry every field; gokit and grpc-go keys end in host:port; grpc-go Metadata is
// always null.
void key_format(std::string_view rest) {
  const auto fields = split(rest, '\0');
  if (fields.size() < 4 || fields[3].size() != 2) return;
  for (auto f : fields)
    if (!config::is_valid_utf8(f)) return;
  Registration r;
  r.name = fields[0];
  r.id = fields[1];
  r.address = fields[2];
  r.port = static_cast<std::uint16_t>(static_cast<unsigned char>(fields[3][0]) << 8 |
                                      static_cast<unsigned char>(fields[3][1]));
  if (fields.size() > 4 && !fields[4].empty())
    for (auto t : split(fields[4], ',')) r.tags.emplace_back(t);
  if (fields.size() > 5 && !fields[5].empty())
    for (auto kv : split(fields[5], ',')) {
      const auto eq = kv.find('=');
      r.meta[std::string(kv.substr(0, eq))] =
          eq == std::string_view::npos ? "" : std::string(kv.substr(eq + 1));
    }
  const std::string prefix = "/services";
  const std::string hp = config::join_host_port(r.address, r.port);

  const Entry j = format_entry(config::EtcdKeyFormat::Json, prefix, r);
  check(j.key == prefix + "/" + r.name + "/" + r.id, "json key");
  const auto v = nlohmann::json::parse(j.value);
  check(v.at("name") == r.name && v.at("id") == r.id && v.at("address") == r.address &&
            v.at("port") == r.port && v.at("tags") == r.tags && v.at("meta") == r.meta,
        "json value does not carry the registration");

  const Entry g = format_entry(config::EtcdKeyFormat::GoKit, prefix, r);
  check(g.key == prefix + "/" + r.name + "/" + hp && g.value == hp, "gokit entry");

  const Entry q = format_entry(config::EtcdKeyFormat::GrpcGo, prefix, r);
  check(q.key == r.name + "/" + hp, "grpc-go key");
  const auto u = nlohmann::json::parse(q.value);
  check(u.at("Op") == 0 && u.at("Addr") == hp && u.at("Metadata").is_null(), "grpc-go value");
}

// Records: a tag byte (desired, written, maybe-present), a length byte and the key, and for the
// two maps a length byte and the value. The plan's batches hold at most max_ops operations,
// deletes come first, nothing unchanged is touched, and applying it to what may be in etcd
// leaves exactly the desired entries.
void reconcile(std::string_view rest) {
  if (rest.empty()) return;
  const std::size_t max_ops = static_cast<unsigned char>(rest[0]) % 9;  // 0 means 1
  rest.remove_prefix(1);
  std::map<std::string, std::string> desired;
  std::map<std::string, std::string> written;
  std::set<std::string> maybe;
  auto take = [&rest](std::string& out) {
    if (rest.empty()) return false;
    const std::size_t len = static_cast<unsigned char>(rest[0]) % 16;
    rest.remove_prefix(1);
    if (rest.size() < len) return false;
    out = std::string(rest.substr(0, len));
    rest.remove_prefix(len);
    return true;
  };
  while (rest.size() >= 2) {
    const int tag = static_cast<unsigned char>(rest[0]) % 3;
    rest.remove_prefix(1);
    std::string key;
    std::string value;
    if (!take(key)) break;
    if (tag == 2) {
      maybe.insert(key);
      continue;
    }
    if (!take(value)) break;
    (tag == 0 ? desired : written)[key] = value;
  }
  const auto batches = plan(desired, written, maybe, max_ops);
  // The daemon sends next_batch(): plan()'s first batch, built alone.
  check(next_batch(desired, written, maybe, max_ops) == (batches.empty() ? Batch{} : batches[0]),
        "next_batch: not plan's first batch");
  std::map<std::string, std::optional<std::string>> etcd;  // nullopt: value unknown
  for (const auto& [k, v] : written) etcd[k] = v;
  for (const auto& k : maybe)
    if (!etcd.contains(k)) etcd[k] = std::nullopt;
  bool puts_started = false;
  for (const Batch& b : batches) {
    check(!b.empty() && b.size() <= std::max<std::size_t>(1, max_ops), "plan: batch size");
    for (const Op& op : b) {
      if (op.kind == Op::Kind::Put) {
        puts_started = true;
        etcd[op.key] = op.value;
      } else {
        check(!puts_started, "plan: a delete after a put");
        check(!desired.contains(op.key), "plan: deletes a desired key");
        etcd.erase(op.key);
      }
      auto w = written.find(op.key);
      auto d = desired.find(op.key);
      check(!(w != written.end() && d != desired.end() && w->second == d->second),
            "plan: touches an unchanged entry");
    }
  }
  check(etcd.size() == desired.size(), "plan: the result has other keys than desired");
  for (const auto& [k, v] : desired) {
    auto it = etcd.find(k);
    check(it != etcd.end() && it->second == v, "plan: the result differs from desired");
  }
}

grpc::Status status_of(std::string_view rest) {
  const auto code = static_cast<grpc::StatusCode>(static_cast<unsigned char>(rest[0]) % 17);
  return grpc::Status(code, std::string(rest.substr(1)));
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// Authentication answers: only the three token problems re-authenticate; every description of
// a failed Authenticate is an auth_failure naming the user; explain_refusal keeps the code and
// etcd's message. The password (from a file or $ETCDCTL_PASSWORD) appears in none of them
// unless etcd's message itself spells it.
void auth(std::string_view rest) {
  if (rest.empty()) return;
  const grpc::Status status = status_of(rest);
  const AuthReply r = classify_auth_reply(status);
  const bool reauth = should_reauthenticate(status);
  check(reauth == (r == AuthReply::InvalidToken || r == AuthReply::OldRevision ||
                   r == AuthReply::UserEmpty),
        "should_reauthenticate disagrees with classify_auth_reply");
  if (r == AuthReply::InvalidToken)
    check(status.error_code() == grpc::StatusCode::UNAUTHENTICATED, "invalid token code");
  if (r == AuthReply::PermissionDenied)
    check(status.error_code() == grpc::StatusCode::PERMISSION_DENIED, "permission code");
  if (status.error_code() == grpc::StatusCode::OK) check(!reauth, "re-authenticate on OK");

  constexpr std::string_view kPassword = "pw-fuzz-S3cret-77aa";
  const bool echoed = contains(status.error_message(), kPassword);
  for (const bool with_user : {false, true}) {
    config::EtcdSpec spec;
    spec.username = with_user ? "registrar" : "";
    spec.password = std::string(kPassword);
    spec.password_source = "$ETCDCTL_PASSWORD";
    spec.prefix = "/services";
    const grpc::Status d = describe_authenticate_failure(spec, status);
    check(is_auth_failure(d), "describe_authenticate_failure is not an auth_failure");
    check(contains(d.error_message(), "\"" + spec.username + "\""), "the user is not named");
    check(echoed || !contains(d.error_message(), kPassword), "the password is in a message");
    const grpc::Status e = explain_refusal(spec, status);
    check(e.error_code() == status.error_code(), "explain_refusal changed the code");
    check(e.error_message().starts_with(status.error_message()),
          "explain_refusal lost etcd's message");
    check(echoed || !contains(e.error_message(), kPassword), "the password is in a refusal");
  }
}

// Connection failures: the explanation is gRPC's message itself or names the endpoint and
// keeps gRPC's reason; it never names a TLS file the settings do not name.
void connect_failure(std::string_view message) {
  const std::string endpoint = "127.0.0.1:2379";
  const std::string reason = last_connect_error(message);
  check(reason.size() <= message.size(), "last_connect_error made the message longer");
  check(contains(message, reason), "last_connect_error is not a part of the message");
  config::TlsSpec none;
  config::TlsSpec ca;
  ca.enabled = true;
  ca.ca_file = "/fuzz/ca.pem";
  config::TlsSpec mtls = ca;
  mtls.cert_file = "/fuzz/client.pem";
  mtls.key_file = "/fuzz/client-key.pem";
  mtls.server_name = "etcd.fuzz";
  config::TlsSpec system_roots;
  system_roots.enabled = true;
  for (const config::TlsSpec* tls : {&none, &ca, &mtls, &system_roots}) {
    const std::string out = explain_connect_failure(message, endpoint, *tls);
    if (out == message) continue;
    check(contains(out, endpoint), "an explanation that does not name the endpoint");
    check(contains(out, reason), "an explanation that drops gRPC's reason");
    for (const std::string& file : {ca.ca_file, mtls.cert_file}) {
      const bool named = file == tls->ca_file || file == tls->cert_file;
      check(named || contains(message, file) || !contains(out, file),
            "an explanation names a file the settings do not name");
    }
  }
}

}  // namespace

int fuzz_etcd_replies(const std::uint8_t* data, std::size_t size) {
  // protobuf logs every string field that is not UTF-8 when a parse fails; gRPC refuses those
  // messages the same way, so the log adds nothing here.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (selector(data[0], 10)) {
    case 0:
      grant(rest);
      break;
    case 1:
      keepalive(rest);
      break;
    case 2:
      owner_record(rest);
      break;
    case 3:
      adoption(rest);
      break;
    case 4:
      ranges(rest);
      break;
    case 5:
      failure(rest);
      break;
    case 6:
      key_format(rest);
      break;
    case 7:
      reconcile(rest);
      break;
    case 8:
      auth(rest);
      break;
    default:
      connect_failure(rest);
      break;
  }
  return 0;
}

}  // namespace registrar::fuzz
