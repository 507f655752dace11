// TLS sections, one shape for registry.etcd.tls, registry.consul.tls and the probes' tls. Only
// file paths are read here: the files themselves are read when a connection is made.
#include <array>
#include <string_view>

#include "config/manifest_sections.hpp"

namespace registrar::config {
namespace {

// TLS of a gRPC connection (etcd, probes); registry.consul.tls also has insecure_skip_verify.
constexpr std::array<std::string_view, 5> kGrpcTlsKeys{"enabled", "ca_file", "cert_file",
                                                       "key_file", "server_name"};
constexpr std::array<std::string_view, 6> kConsulTlsKeys{
    "enabled", "ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"};

// A file key, when present: not empty, no control characters. Relative paths are taken from
// the daemon's working directory.
std::optional<Value> file(const Reader& r, const Fields& keys, std::string_view key,
                          std::string& out) {
  auto f = Reader::find(keys, key);
  if (!f) return std::nullopt;
  out = r.text(*f);
  if (out.empty()) r.fail(*f, "must not be empty (leave it out when there is no such file)");
  r.no_control_characters(*f, out);
  return f;
}

}  // namespace

TlsSpec read_tls(const Reader& r, const Value& v, bool consul) {
  TlsSpec t;
  if (v.node.IsScalar()) {
    t.enabled = r.boolean(v);
    return t;
  }
  static const std::map<std::string_view, std::string> grpc_special{
      {"insecure_skip_verify",
       "is only supported in registry.consul.tls; give the server's CA in ca_file instead"}};
  auto keys = consul ? r.fields(v, kConsulTlsKeys) : r.fields(v, kGrpcTlsKeys, grpc_special);
  t.enabled = true;
  if (auto e = Reader::find(keys, "enabled")) t.enabled = r.boolean(*e);
  file(r, keys, "ca_file", t.ca_file);
  auto cert = file(r, keys, "cert_file", t.cert_file);
  auto key = file(r, keys, "key_file", t.key_file);
  if (cert && !key) r.fail(*cert, "needs key_file as well (the client certificate's private key)");
  if (key && !cert) r.fail(*key, "needs cert_file as well (the client certificate)");
  if (auto n = Reader::find(keys, "server_name")) {
    t.server_name = r.text(*n);
    if (t.server_name.empty()) r.fail(*n, "must not be empty (leave it out for the host dialled)");
    for (char c : t.server_name) {
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '/' || c == ':') {
        r.fail(*n, "must be a host name, got " + r.shown(*n, t.server_name));
      }
    }
  }
  if (auto i = Reader::find(keys, "insecure_skip_verify")) t.insecure_skip_verify = r.boolean(*i);
  return t;
}

}  // namespace registrar::config
