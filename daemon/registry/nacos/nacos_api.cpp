#include "registry/nacos/nacos_api.hpp"

#include <nlohmann/json.hpp>

namespace registrar::registry::nacos {

using nlohmann::json;

std::string form_escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

namespace {

constexpr const char* kFormType = "application/x-www-form-urlencoded";

struct Form {
  std::string text;
  Form& add(const char* key, const std::string& value) {
    if (!text.empty()) text += '&';
    text += key;
    text += '=';
    text += form_escape(value);
    return *this;
  }
};

std::string weight_text(double w) {
  json j = w;
  return j.dump();
}

// The parameters that name the instance, in every request about it.
Form instance_form(const config::NacosSpec& spec, const Registration& reg) {
  Form f;
  f.add("serviceName", reg.name)
      .add("groupName", spec.group)
      .add("namespaceId", spec.namespace_id)
      .add("clusterName", spec.cluster)
      .add("ip", reg.address)
      .add("port", std::to_string(reg.port))
      .add("ephemeral", "true");
  return f;
}

void add_token(Form& f, const std::string& token) {
  if (!token.empty()) f.add("accessToken", token);
}

json metadata_object(const Registration& reg) {
  json m = json::object();
  for (const auto& [k, v] : reg.meta) m[k] = v;
  if (!m.contains(kGrpcPortKey)) m[kGrpcPortKey] = std::to_string(reg.port);
  return m;
}

}  // namespace

std::string metadata_json(const Registration& reg) {
  return metadata_object(reg).dump();
}

HttpRequest register_request(const config::NacosSpec& spec, const Registration& reg,
                             const std::string& token) {
  Form f = instance_form(spec, reg);
  f.add("weight", weight_text(spec.weight))
      .add("enabled", "true")
      .add("healthy", "true")
      .add("metadata", metadata_json(reg));
  add_token(f, token);
  HttpRequest r;
  r.method = http::Method::Post;
  r.target = "/nacos/v1/ns/instance";
  r.body = std::move(f.text);
  r.content_type = kFormType;
  return r;
}

HttpRequest deregister_request(const config::NacosSpec& spec, const Registration& reg,
                               const std::string& token) {
  Form f = instance_form(spec, reg);
  add_token(f, token);
  HttpRequest r;
  r.method = http::Method::Delete;  // DELETE carries its parameters in the query
  r.target = "/nacos/v1/ns/instance?" + f.text;
  return r;
}

HttpRequest beat_request(const config::NacosSpec& spec, const Registration& reg,
                         std::chrono::milliseconds period, const std::string& token) {
  const std::string grouped = spec.group + "@@" + reg.name;
  json beat = {
      {"cluster", spec.cluster}, {"ip", reg.address},        {"port", reg.port},
      {"weight", spec.weight},   {"serviceName", grouped},   {"metadata", metadata_object(reg)},
      {"scheduled", false},      {"period", period.count()}, {"stopped", false}};
  Form q = instance_form(spec, reg);
  add_token(q, token);
  HttpRequest r;
  r.method = http::Method::Put;
  r.target = "/nacos/v1/ns/instance/beat?" + q.text;
  r.body = Form{}.add("beat", beat.dump()).text;
  r.content_type = kFormType;
  return r;
}

HttpRequest login_request(const std::string& username, const std::string& password) {
  HttpRequest r;
  r.method = http::Method::Post;
  r.target = "/nacos/v1/auth/login";
  r.body = Form{}.add("username", username).add("password", password).text;
  r.content_type = kFormType;
  return r;
}

std::optional<BeatAnswer> parse_beat_answer(const std::string& body, std::string& why) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    why = "the beat's answer is not a JSON object";
    return std::nullopt;
  }
  BeatAnswer a;
  if (auto it = j.find("code"); it != j.end()) {
    if (!it->is_number_integer()) {
      why = "the beat's answer has a code that is not an integer";
      return std::nullopt;
    }
    a.code = it->get<int>();
  }
  if (auto it = j.find("clientBeatInterval"); it != j.end() && it->is_number()) {
    const double ms = it->get<double>();
    // A server's odd answer must not make us beat in a tight loop or never.
    if (ms >= 10 && ms <= 3'600'000) a.interval = std::chrono::milliseconds(static_cast<long>(ms));
  }
  return a;
}

std::optional<LoginAnswer> parse_login_answer(const std::string& body, std::string& why) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("accessToken") || !j["accessToken"].is_string()) {
    why = "the login answer has no accessToken";
    return std::nullopt;
  }
  LoginAnswer a;
  a.token = j["accessToken"].get<std::string>();
  if (a.token.empty()) {
    why = "the login answer's accessToken is empty (is auth enabled on the server?)";
    return std::nullopt;
  }
  if (auto it = j.find("tokenTtl"); it != j.end() && it->is_number_integer()) {
    const long long s = it->get<long long>();
    if (s > 0) a.ttl = std::chrono::seconds(s);
  }
  return a;
}

bool same_instance(const Registration& a, const Registration& b) {
  return a.name == b.name && a.address == b.address && a.port == b.port;
}

}  // namespace registrar::registry::nacos
