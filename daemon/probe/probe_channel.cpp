#include "probe/probe_channel.hpp"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <limits>

#include "probe/tls_credentials.hpp"

namespace registrar::probe {

namespace {

using Millis = std::chrono::milliseconds;

constexpr Millis kKeepaliveTime{10000};
constexpr Millis kMinKeepaliveTimeout{1000};
constexpr Millis kMinConnectTimeout{1000};

int to_int_ms(Millis d) {
  return static_cast<int>(std::clamp<Millis::rep>(d.count(), 0, std::numeric_limits<int>::max()));
}

}  // namespace

grpc::ChannelArguments probe_channel_arguments(Millis timeout, const config::TlsSpec& tls,
                                               bool transparent_retry) {
  grpc::ChannelArguments args;
  // A restarted service is found again quickly: the first retry of a refused connection 100 ms
  // later, at most 1 s between retries.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  // Despite its name, gRPC uses this as the shortest time one connection attempt may take (TCP,
  // TLS handshake and the server's HTTP/2 SETTINGS), not as a backoff: at 100 ms a TLS handshake
  // on a loaded host failed as "timed out before receiving SETTINGS frame". The probe's timeout
  // (at least 1 s) is what a connection attempt may take, as a call may.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, to_int_ms(std::max(timeout, kMinConnectTimeout)));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // HTTP/2 keepalive, so that a dead peer under an idle Watch stream is noticed. Caveat: gRPC's
  // default ping policy sends at most 2 pings without data in between (GRPC_ARG_HTTP2_MAX_PINGS_
  // WITHOUT_DATA), so on a stream with no status change this covers about the first 20 s only.
  // Lifting that limit is not an option: servers with default settings (C++, Go) answer pings
  // more often than every 5 min with GOAWAY "too_many_pings", which would break healthy streams.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, to_int_ms(kKeepaliveTime));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, to_int_ms(std::max(timeout, kMinKeepaliveTimeout)));
  // Really our own connection: without this, channels with equal arguments to the same target
  // share subchannels through gRPC's global pool. (Probers of one target share channels through
  // the ChannelPool, on purpose and in bounded numbers.)
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  apply_tls_arguments(tls, args);
  if (!transparent_retry) args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  return args;
}

std::string probe_channel_key(const std::string& target, Millis timeout, const config::TlsSpec& tls,
                              const std::string& files_stamp, bool transparent_retry) {
  std::string key =
      target + " timeout=" + std::to_string(timeout.count()) + "ms " + tls_settings_text(tls);
  if (tls.enabled) key += " files=" + files_stamp;
  if (!transparent_retry) key += " no-retry";
  return key;
}

ChannelPool& probe_channel_pool() {
  static ChannelPool pool(kProbersPerChannel);
  return pool;
}

std::optional<ProbeChannel> acquire_probe_channel(const std::string& target, Millis timeout,
                                                  const config::TlsSpec& tls, std::string& error,
                                                  bool transparent_retry) {
  ProbeChannel out;
  out.files_stamp = tls_files_stamp(tls);
  out.key = probe_channel_key(target, timeout, tls, out.files_stamp, transparent_retry);
  out.channel = probe_channel_pool().acquire(out.key, [&]() -> std::shared_ptr<grpc::Channel> {
    auto credentials = make_channel_credentials(tls, error);
    if (!credentials) return nullptr;
    return grpc::CreateCustomChannel(target, credentials,
                                     probe_channel_arguments(timeout, tls, transparent_retry));
  });
  if (!out.channel) return std::nullopt;
  return out;
}

bool probe_channel_stale(const ProbeChannel& channel, const config::TlsSpec& tls) {
  return tls.enabled && tls_files_stamp(tls) != channel.files_stamp;
}

}  // namespace registrar::probe
