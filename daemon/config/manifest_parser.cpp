// The manifest from the top: the file (read within its size limit), its one YAML document, the
// top-level keys and the `status` section; the other sections are read by manifest_sections.hpp's
// functions.
#include "config/manifest_parser.hpp"

#include <array>
#include <chrono>
#include <string_view>

#include "config/listen_address.hpp"
#include "config/manifest_reader.hpp"
#include "config/manifest_sections.hpp"
#include "config/status_policy.hpp"
#include "config/yaml_document.hpp"
#include "runtime/bounded_file.hpp"

namespace registrar::config {
namespace {

using namespace std::chrono_literals;

constexpr std::array<std::string_view, 6> kRootKeys{"registry", "defaults",         "services",
                                                    "drain",    "shutdown_timeout", "status"};
constexpr std::array<std::string_view, 3> kStatusKeys{"listen", "allow_remote", "control_socket"};

constexpr DurationRange kDrainRange{0ms, 1h};
constexpr DurationRange kShutdownTimeoutRange{100ms, 10min};

StatusSpec read_status(const Reader& r, const Value& v) {
  auto keys = r.fields(v, kStatusKeys);
  StatusSpec st;
  if (auto a = Reader::find(keys, "allow_remote")) st.allow_remote = r.boolean(*a);
  if (auto l = Reader::find(keys, "listen")) {
    const std::string text_value = r.text(*l);
    std::string why;
    auto address = parse_listen_address(text_value, why);
    if (!address) r.fail(*l, why);
    if (!st.allow_remote && !is_loopback(*address)) r.fail(*l, remote_refusal(*address));
    st.listen = to_string(*address);
  }
  if (auto c = Reader::find(keys, "control_socket")) {
    st.control_socket = r.text(*c);
    std::string why;
    if (!valid_control_socket(st.control_socket, why)) r.fail(*c, why);
  }
  return st;
}

// The document's root: a map, not empty.
Value root_of(const Reader& r, std::string_view yaml) {
  YAML::Node doc;
  try {
    doc = load_one_document(yaml);
  } catch (const YamlDocumentError& e) {
    r.fail(e.mark, "", e.message);
  }
  if (!doc.IsDefined() || doc.IsNull()) {
    throw ConfigError(Location{r.source(), 0, 0}, "", "the manifest is empty");
  }
  Value root{doc, "", doc.Mark()};
  if (!root.node.IsMap()) {
    r.fail(root.mark, "",
           "the manifest must be a map with keys registry, defaults and services, got " +
               describe(root.node));
  }
  return root;
}

}  // namespace

Manifest parse_manifest(std::string_view yaml, const std::string& source_name,
                        const EnvLookup& env) {
  const Reader r(source_name, env);
  const Value root = root_of(r, yaml);
  Manifest m;
  m.source = source_name;
  auto keys = r.fields(root, kRootKeys);
  if (auto v = Reader::find(keys, "registry")) m.registry = read_registry(r, *v);
  if (auto v = Reader::find(keys, "defaults")) m.default_probe = read_defaults(r, *v);
  if (auto v = Reader::find(keys, "services")) {
    m.services = read_services(r, *v, m.default_probe, m.registry.kind == RegistryKind::Consul);
    check_address_keys(m);
    check_zookeeper_names(m);
    if (m.registry.kind == RegistryKind::Eureka) check_eureka_services(m);
  }
  if (auto v = Reader::find(keys, "drain")) m.drain = r.bounded_duration(*v, kDrainRange);
  if (auto v = Reader::find(keys, "status")) m.status = read_status(r, *v);
  if (auto v = Reader::find(keys, "shutdown_timeout")) {
    m.shutdown_timeout = r.bounded_duration(*v, kShutdownTimeoutRange);
  }
  return m;
}

Manifest load_manifest(const std::string& path, const EnvLookup& env) {
  std::string why;
  std::optional<std::string> content = runtime::read_bounded_file(path, kMaxManifestBytes, why);
  if (!content) {
    // read_bounded_file's reason is strerror's text, or "larger than N bytes" for the limit.
    std::string message = why.starts_with("larger than ") ? why + ", the limit for a manifest"
                                                          : "cannot read: " + why;
    throw ConfigError(Location{path, 0, 0}, "", message);
  }
  return parse_manifest(*content, path, env);
}

}  // namespace registrar::config
