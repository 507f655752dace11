// The arguments and pool keys of probe channels: what each probe stream costs in gRPC's per-call
// machinery, and that probers with different probe.transparent_retry never share a channel.
#include "probe/probe_channel.hpp"

#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>

namespace {

using namespace std::chrono_literals;

// The integer value of argument `name`, or nullopt when it is not set.
std::optional<int> probe_channel_int_arg(const grpc::ChannelArguments& args, const char* name) {
  const grpc_channel_args c = args.c_channel_args();
  for (std::size_t i = 0; i < c.num_args; ++i) {
    if (std::string(c.args[i].key) == name && c.args[i].type == GRPC_ARG_INTEGER) {
      return c.args[i].value.integer;
    }
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("probe channel: gRPC's transparent retry stays on unless turned off") {
  using registrar::probe::probe_channel_arguments;
  const registrar::config::TlsSpec plain;
  const auto with_retry = probe_channel_arguments(1s, plain, /*transparent_retry=*/true);
  // Not set: gRPC's default (on) applies.
  CHECK_FALSE(probe_channel_int_arg(with_retry, GRPC_ARG_ENABLE_RETRIES).has_value());
  const auto without = probe_channel_arguments(1s, plain, /*transparent_retry=*/false);
  CHECK(probe_channel_int_arg(without, GRPC_ARG_ENABLE_RETRIES) == 0);
}

TEST_CASE("probe channel: the settings every probe channel gets") {
  using registrar::probe::probe_channel_arguments;
  const registrar::config::TlsSpec plain;
  for (const bool retry : {true, false}) {
    const auto args = probe_channel_arguments(2s, plain, retry);
    CHECK(probe_channel_int_arg(args, GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL) == 1);
    CHECK(probe_channel_int_arg(args, GRPC_ARG_KEEPALIVE_TIME_MS) == 10000);
    CHECK(probe_channel_int_arg(args, GRPC_ARG_KEEPALIVE_TIMEOUT_MS) == 2000);
    CHECK(probe_channel_int_arg(args, GRPC_ARG_MIN_RECONNECT_BACKOFF_MS) == 2000);
  }
}

TEST_CASE("probe channel: probers that differ in transparent_retry do not share a channel") {
  using registrar::probe::probe_channel_key;
  const registrar::config::TlsSpec plain;
  CHECK(probe_channel_key("h:1", 1s, plain, "") == probe_channel_key("h:1", 1s, plain, "", true));
  CHECK(probe_channel_key("h:1", 1s, plain, "", false) !=
        probe_channel_key("h:1", 1s, plain, "", true));
  CHECK(probe_channel_key("h:1", 1s, plain, "", false) ==
        probe_channel_key("h:1", 1s, plain, "", false));
}
