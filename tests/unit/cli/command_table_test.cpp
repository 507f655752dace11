#include "cli/command_table.hpp"

#include <catch2/catch.hpp>
#include <set>

#include "cli/exit_codes.hpp"
#include "cli/secret_flags.hpp"

using namespace registrar::cli;

namespace {

using Args = std::vector<std::string>;

// Every spelling ("-c", "--config") of the top-level options of `parser` that take a value
// (`with_value`) or not.
std::vector<std::string> top_level_flags(const CLI::App& parser, bool with_value) {
  std::vector<std::string> out;
  for (const CLI::Option* o : parser.get_options()) {
    if ((o->get_items_expected_min() > 0) != with_value) continue;
    for (const std::string& s : o->get_snames()) out.push_back("-" + s);
    for (const std::string& l : o->get_lnames()) out.push_back("--" + l);
  }
  return out;
}

}  // namespace

TEST_CASE("command table: every subcommand declared is parsed, detected and has help", "[cli]") {
  Invocation into;
  const auto parser = build_parser(into);
  std::set<std::string> names;
  for (const Subcommand& c : subcommands()) {
    INFO(c.name);
    names.emplace(c.name);
    const CLI::App* sub = parser->get_subcommand(std::string(c.name));
    CHECK(sub->get_description() == c.description);
    CHECK(subcommand_name(*parser, {std::string(c.name)}) == c.name);
    CHECK(subcommand_name(*parser, {"-c", "f", std::string(c.name), "--help"}) == c.name);
    CHECK(&command_for(c.name) == &c);
    // -c before or after its name, where it reads a manifest.
    CHECK((sub->get_option_no_throw("--config") != nullptr) == c.reads_manifest);
    // The log flags before or after every subcommand's name (issue 19: one grammar).
    for (const char* flag : {"--log-format", "--log-level", "--no-log-timestamps"})
      CHECK(sub->get_option_no_throw(flag) != nullptr);
    CHECK((sub->get_option_no_throw("--status-listen") != nullptr) == c.runs_daemon);
  }
  CHECK(names == std::set<std::string>{"run", "check", "register", "deregister", "probe", "resolve",
                                       "watch", "drain", "status"});
  CHECK(parser->get_subcommands({}).size() == names.size());
  // No subcommand, or an unknown one: the top level, which means `run`.
  CHECK(subcommand_name(*parser, {}).empty());
  CHECK(subcommand_name(*parser, {"frobnicate", "check"}).empty());
  CHECK(subcommand_name(*parser, {"--log-format", "json"}).empty());
  CHECK(command_for("").name == "run");
  CHECK(command_for("frobnicate").name == "run");
  CHECK(find_subcommand("frobnicate") == nullptr);
}

TEST_CASE("command table: detection skips the value of every top-level flag declared with one",
          "[cli]") {
  Invocation into;
  const auto parser = build_parser(into);
  // Iterates over the declaration, so a value flag added to it later is covered here too: its
  // value, even one that names a subcommand, is never taken for the subcommand.
  std::vector<std::string> value_flags = top_level_flags(*parser, true);
  for (const char* secret : {"--token", "--consul-token", "--password", "--etcd-password"}) {
    CHECK(is_registry_secret_flag(secret));
    value_flags.emplace_back(secret);
  }
  for (const char* flag : {"-c", "--config", "--log-level", "--log-format", "--status-listen"}) {
    CHECK(std::find(value_flags.begin(), value_flags.end(), flag) != value_flags.end());
  }
  for (const std::string& flag : value_flags) {
    for (const Subcommand& value : subcommands()) {
      const std::string sub = value.name == "status" ? "check" : "status";
      INFO(flag << " " << value.name << " " << sub);
      CHECK(takes_value(*parser, flag));
      CHECK(subcommand_name(*parser, {flag, std::string(value.name), sub}) == sub);
      // "--flag=value" carries its own value: the next argument is the subcommand.
      CHECK(subcommand_name(*parser, {flag + "=" + std::string(value.name), sub}) == sub);
    }
  }
  // Flags without a value (--no-log-timestamps, --help, --version) skip only themselves.
  const std::vector<std::string> plain = top_level_flags(*parser, false);
  CHECK(std::find(plain.begin(), plain.end(), "--no-log-timestamps") != plain.end());
  for (const std::string& flag : plain) {
    INFO(flag);
    CHECK_FALSE(takes_value(*parser, flag));
    CHECK(subcommand_name(*parser, {flag, "status", "check"}) == "status");
  }
}

TEST_CASE("command table: flags before the subcommand, as they work today", "[cli]") {
  Invocation into;
  const auto parser = build_parser(into);
  const std::vector<std::pair<Args, std::string>> cases = {
      {{"-c", "f", "--log-format", "json", "check"}, "check"},
      {{"--log-level", "debug", "--no-log-timestamps", "--status-listen", "127.0.0.1:0", "register",
        "--name", "x"},
       "register"},
      {{"-c", "status", "check"}, "check"},  // a value that looks like a subcommand
      {{"--config", "probe", "drain", "-c", "run"}, "drain"},
      {{"--config=probe", "status"}, "status"},
      {{"-cprobe", "status"}, "status"},  // -c with its value attached
      {{"--token", "check", "probe", "127.0.0.1:1"}, "probe"},
      {{"--etcd-password=run", "deregister", "--etcd", "h:1"}, "deregister"},
      {{"run", "check"}, "run"},  // the first wins; the parser refuses the second
  };
  for (const auto& [args, sub] : cases) {
    INFO(Catch::StringMaker<Args>::convert(args));
    CHECK(subcommand_name(*parser, args) == sub);
  }
}

TEST_CASE("command table: the subcommand found decides whether --token is taken or refused",
          "[cli]") {
  Invocation into;
  const auto parser = build_parser(into);
  std::set<std::string> taking;
  for (const Subcommand& c : subcommands()) {
    const SecretArgs s = take_secret_args({"--token", "t"}, std::string(c.name));
    INFO(c.name);
    CHECK(s.error.empty());
    CHECK(s.env.empty() != c.takes_registry_secrets);
    if (c.takes_registry_secrets) taking.emplace(c.name);
  }
  CHECK(taking ==
        std::set<std::string>{"run", "check", "register", "deregister", "resolve", "watch"});

  // -c's value names a subcommand that would refuse --token: detection skips it, so `check`
  // takes the token.
  Args args{"-c", "status", "--token", "t", "check"};
  SecretArgs s = take_secret_args(args, subcommand_name(*parser, args));
  CHECK(s.env.size() == 2);
  CHECK(s.args == Args{"-c", "status", "check"});
  // And the other way round: `status` keeps it, for secret_flag() to refuse (exit 64).
  args = {"--log-format", "check", "--token", "t", "status"};
  s = take_secret_args(args, subcommand_name(*parser, args));
  CHECK(s.env.empty());
  CHECK(secret_flag(s.args) == "--token");
}

TEST_CASE("command table: usage exit codes and the parsed invocation", "[cli]") {
  CHECK(command_for("probe").usage_exit == kProbeInvalidArguments);
  for (const Subcommand& c : subcommands()) {
    if (c.name != "probe") CHECK(c.usage_exit == kExitUsage);
  }

  Invocation into;
  const auto parser = build_parser(into);
  std::vector<const char*> argv{"grpc-registrar", "-c", "f.yaml", "--log-format", "json", "check"};
  parser->parse(static_cast<int>(argv.size()), argv.data());
  apply_config_default(into);
  CHECK(into.run.config_path == "f.yaml");
  CHECK(into.config_given);
  CHECK(into.log_format == "json");
  REQUIRE(parser->get_subcommands().size() == 1);
  CHECK(parser->get_subcommands().front()->get_name() == "check");

  // Issue 19: after the subcommand's name as before it (was a usage error).
  for (const std::vector<const char*>& after :
       {std::vector<const char*>{"grpc-registrar", "check", "-c", "f.yaml", "--log-format", "json"},
        std::vector<const char*>{"grpc-registrar", "status", "--log-format", "json"},
        std::vector<const char*>{"grpc-registrar", "probe", "h:1", "--log-level", "warn"}}) {
    Invocation parsed;
    const auto p = build_parser(parsed);
    CHECK_NOTHROW(p->parse(static_cast<int>(after.size()), after.data()));
    CHECK((parsed.log_format == "json" || parsed.run.log.level == "warn"));
  }

  Invocation defaults;
  const auto again = build_parser(defaults);
  std::vector<const char*> none{"grpc-registrar", "status", "--ready"};
  again->parse(static_cast<int>(none.size()), none.data());
  CHECK_FALSE(defaults.config_given);
  CHECK(defaults.status.ready);
}
