// Fuzz target "consul_replies": what the Consul backend reads from the agent (consul_api.hpp,
// token.hpp). The first byte picks the reader, the rest is the agent's answer:
//   0 parse_service (GET /v1/agent/service/<id>)   1 parse_services (GET /v1/agent/services)
//   2 parse_checks (GET /v1/agent/checks)          3 describe_answer and check_unknown: two
//     bytes of HTTP status, then the body          4 Token::scrub: a token line, then a text
// Invariants: the parsers never throw and give a reason when they refuse; every service read
// compares equal to itself; a registration made from a service read, written with
// register_body and read back as the agent would echo it, is the same service (what lets a
// restarted daemon keep registrations unchanged); describe_answer is one short line without
// control characters; scrub leaves no copy of the token.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "config/manifest.hpp"
#include "fuzz_support.hpp"
#include "registry/consul/consul_api.hpp"
#include "registry/consul/token.hpp"

namespace registrar::fuzz {
namespace {

using namespace registry::consul;
using registry::Registration;

const CheckSettings kCheck{};

// Writes `s` as this daemon would register it, reads it back as the agent would report it, and
// requires the same service.
void round_trip(const AgentService& s) {
  if (s.port < 0 || s.port > 65535) return;
  Registration reg;
  reg.name = s.name;
  reg.id = s.id;
  reg.address = s.address;
  reg.port = static_cast<std::uint16_t>(s.port);
  reg.tags = s.tags;
  reg.meta = s.meta;
  reg.meta.erase(kManagedByKey);
  reg.meta.erase(kOwnerKey);
  auto owner_it = s.meta.find(kOwnerKey);
  const std::string owner = owner_it != s.meta.end() ? owner_it->second : "fuzz-owner";
  const AgentService want = expected_service(reg, s.weights, owner);
  check(owned_by(want, owner), "expected_service is not owned by its owner");

  nlohmann::json body = nlohmann::json::parse(register_body(reg, s.weights, owner, kCheck));
  body["Service"] = body["Name"];  // the agent answers with "Service" where we send "Name"
  body.erase("Name");
  body.erase("Check");
  std::string why;
  std::optional<AgentService> echoed = parse_service(body.dump(), why);
  check(echoed.has_value(), "register_body does not read back: " + why);
  check(same_service(*echoed, want), "register_body read back is not the service written");
  if (owner_it != s.meta.end() && owned_by(s, owner)) {
    check(same_service(s, want), "an owned service differs from its own expected_service");
  }
}

void service_checks(const AgentService& s) {
  check(same_service(s, s), "same_service(s, s) is false");
  (void)owned_by(s, "fuzz-owner");
  round_trip(s);
}

void one_service(std::string_view body) {
  std::string why;
  auto s = parse_service(body, why);
  if (!s) {
    check(!why.empty(), "parse_service refused without a reason");
    return;
  }
  service_checks(*s);
}

void services(std::string_view body) {
  std::string why;
  auto list = parse_services(body, why);
  if (!list) {
    check(!why.empty(), "parse_services refused without a reason");
    return;
  }
  for (const auto& [id, s] : *list) {
    check(!s.id.empty() || id.empty(), "a listed service without an id");
    service_checks(s);
  }
}

void checks(std::string_view body) {
  std::string why;
  auto list = parse_checks(body, why);
  if (!list) {
    check(!why.empty(), "parse_checks refused without a reason");
    return;
  }
  for (const auto& [id, c] : *list) {
    check(!c.id.empty() || id.empty(), "a listed check without an id");
    (void)parse_health(c.status);
  }
}

void answer(std::string_view rest) {
  if (rest.size() < 2) return;
  const int status =
      (static_cast<unsigned char>(rest[0]) << 8 | static_cast<unsigned char>(rest[1])) % 1000;
  const std::string_view body = rest.substr(2);
  (void)check_unknown(status, body);
  const std::string text = describe_answer(status, body);
  check(text.starts_with(std::to_string(status)), "describe_answer does not start with the status");
  check(text.size() <= 4 + 200 * 4 + 3, "describe_answer is longer than its bound");
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    check(u >= 0x20 && u != 0x7f, "describe_answer holds a control character");
  }
}

// The token: the first line, other characters mapped onto those of a UUID. A token of 8 or more
// such characters cannot be made of pieces of the redaction marker, so no copy may remain.
void scrub(std::string_view rest) {
  const auto nl = rest.find('\n');
  if (nl == std::string_view::npos) return;
  static const char* alphabet = "0123456789abcdef-";
  std::string token;
  for (char c : rest.substr(0, nl)) {
    const bool keep = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-';
    token += keep ? c : alphabet[static_cast<unsigned char>(c) % 17];
  }
  config::ConsulSpec spec;
  spec.token = token;
  const Token t(spec);
  const std::string text(rest.substr(nl + 1));
  const std::string out = t.scrub(text);
  if (token.empty()) {
    check(out == text, "scrub without a token changed the text");
  } else if (token.size() >= 8) {
    check(out.find(token) == std::string::npos, "scrub left a copy of the token");
  }
}

}  // namespace

int fuzz_consul_replies(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (selector(data[0], 5)) {
    case 0:
      one_service(rest);
      break;
    case 1:
      services(rest);
      break;
    case 2:
      checks(rest);
      break;
    case 3:
      answer(rest);
      break;
    default:
      scrub(rest);
      break;
  }
  return 0;
}

}  // namespace registrar::fuzz
