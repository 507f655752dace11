// The channel a prober talks through: taken from the process-wide ChannelPool under a key made of
// everything that makes channels differ (target, probe timeout, TLS settings and the stamp of the
// TLS files), so that probers share a channel only when they would have made the same one.
// TLS files are read when a channel is made; a channel made from files that have since changed is
// left (and a new one made) by the prober after a failed probe (probe_channel_stale).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/manifest.hpp"
#include "probe/channel_pool.hpp"

namespace grpc {
class Channel;
class ChannelArguments;
}  // namespace grpc

namespace registrar::probe {

struct ProbeChannel {
  std::shared_ptr<grpc::Channel> channel;  // one use of a pooled channel
  std::string key;                         // its pool key
  std::string files_stamp;                 // tls_files_stamp() when it was made; "" = no TLS
};

// The pool key of a channel to `target` with `timeout` and `tls`, whose TLS files had
// `files_stamp`. Equal keys share channels; any difference in the TLS settings or in
// `transparent_retry` (probe.transparent_retry) makes another key.
std::string probe_channel_key(const std::string& target, std::chrono::milliseconds timeout,
                              const config::TlsSpec& tls, const std::string& files_stamp,
                              bool transparent_retry = true);

// The arguments of a probe channel (exposed for tests): reconnect pace, keepalive, a channel of
// its own, TLS, and what a probe stream needs of gRPC's per-call machinery (see the .cpp).
grpc::ChannelArguments probe_channel_arguments(std::chrono::milliseconds timeout,
                                               const config::TlsSpec& tls, bool transparent_retry);

// Probers of the same key share a channel, up to this many each (one HTTP/2 connection per 100
// health-check names served on one port, not one each).
inline constexpr std::size_t kProbersPerChannel = 100;

// The process-wide pool of probe channels (exposed for tests).
ChannelPool& probe_channel_pool();

// A use of a channel for these settings: a shared one, or a new one (its TLS files read now).
// nullopt when the TLS files cannot be used; `error` then says why (a setting, a path, a reason).
std::optional<ProbeChannel> acquire_probe_channel(const std::string& target,
                                                  std::chrono::milliseconds timeout,
                                                  const config::TlsSpec& tls, std::string& error,
                                                  bool transparent_retry = true);

// True when `channel` was made from TLS files that have changed since (rewritten, replaced,
// removed): the prober should let it go and acquire a new one. Three stat() calls; false without
// TLS.
bool probe_channel_stale(const ProbeChannel& channel, const config::TlsSpec& tls);

}  // namespace registrar::probe
