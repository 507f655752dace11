// A Prober speaking the standard grpc.health.v1 protocol (Watch stream with Check fallback, or
// Check polling) to one local service.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>

#include "config/manifest.hpp"
#include "probe/health_results.hpp"
#include "probe/prober.hpp"
#include "runtime/clock.hpp"

namespace registrar::probe {

// Probes service.probe.target for service.probe.service ("" = the whole server) according to
// service.probe (mode, interval, timeout). Every result is delivered on `executor`, which must be
// single-threaded (an io_context run by one thread, or a strand). start(), stop() and the
// destructor must be called on that executor too.
//
// Intervals, repeats, reconnect backoff, the wait for a stream's first message and a stream's
// age are measured on `clock` (which must outlive the prober's calls); the deadlines of gRPC
// calls (a Check's `timeout`) are gRPC's own, in real time. Every prober sharing a channel (same
// target, timeout and TLS settings) must use the same clock: they share one liveness Check.
//
// Watch streams: a stream that ends after delivering at least one message (a clean end, or
// UNAVAILABLE from a GOAWAY: a server rotating its connections) is reopened at once and reports
// nothing in between, not even the last status again. Only if the new stream fails, or does not
// deliver its first message within min(timeout, interval), is a failure reported, followed by
// reconnects with backoff and one failure per interval. A stream that fails before its first
// message, or the second stream in a row to end within 1 s of being opened, is a failure at once.
//
// Liveness: while a stream is up, its last status counts again every interval. A repeat due when
// the server has shown no sign of life (a message, an answered Check) for liveness_interval (at
// least interval) first waits for a Check with deadline `timeout`; one that goes unanswered is a
// Timeout, and every repeat asks again until the server answers. A hung server is thus reported
// within liveness_interval + interval + timeout, and again every interval + timeout.
//
// In-flight gRPC calls hold outstanding work on the executor until they have finished, so after
// stop() the owner can simply keep running the executor until it runs out of work; the executor's
// context must not be destroyed while calls are still finishing.
std::unique_ptr<Prober> make_grpc_health_prober(boost::asio::any_io_executor executor,
                                                const config::ServiceSpec& service,
                                                const runtime::Clock& clock);

}  // namespace registrar::probe
