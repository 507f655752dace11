#include "probe/grpc_health_prober.hpp"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "config/effective.hpp"
#include "grpc/health/v1/health.grpc.pb.h"
#include "probe/health_calls.hpp"
#include "probe/probe_channel.hpp"
#include "probe/shared_liveness.hpp"
#include "probe/tls_failure.hpp"
#include "runtime/backoff.hpp"
#include "runtime/timer.hpp"

namespace registrar::probe {
namespace {

namespace asio = boost::asio;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckResponse;
using ServingStatus = HealthCheckResponse::ServingStatus;
using Millis = std::chrono::milliseconds;

constexpr Millis kMinPeriod{10};  // guards against a zero interval/timeout spinning the executor
constexpr Millis kBackoffInitial{100};
constexpr Millis kBackoffMinCap{2000};
constexpr double kBackoffMultiplier = 2.0;
constexpr double kBackoffJitter = 0.2;
// A Watch stream that ends after this long was a good one: the next end of a stream may be
// bridged by a reopen without reporting a failure (a server rotating its connections), and the
// reconnect backoff starts over. Streams ending sooner twice in a row take the failure path, so
// that a server closing every stream at once cannot make us spin.
constexpr Millis kStableStream{1000};
constexpr int kMaxShortStreams = 2;

// The manifest normally fills probe.target; fall back to address:port if it did not.
std::string target_of(const config::ServiceSpec& service) {
  if (!service.probe.target.empty()) return service.probe.target;
  return config::default_probe_target(service.address, service.port);
}

std::string ms_text(Millis d) {
  return std::to_string(d.count()) + "ms";
}

// All prober state. Touched only on the executor. Every time it measures or waits for is on
// the injected clock; only gRPC's own deadlines (the Check call's, the channel's connection
// attempts) are real time.
class Core final : public HealthCallSink, public std::enable_shared_from_this<Core> {
 public:
  Core(asio::any_io_executor executor, const config::ServiceSpec& service,
       const runtime::Clock& clock);

  void start(Prober::Callback callback);
  void stop();

  // HealthCallSink: posted by gRPC reactions; run on the executor.
  void on_watch_message(const WatchCall* call, ServingStatus status) override;
  void on_watch_done(const WatchCall* call, const grpc::Status& status) override;
  void on_check_done(const CheckCall* call, const grpc::Status& status,
                     ServingStatus serving) override;

 private:
  enum class Link { Unknown, Up, Down };
  using Action = void (Core::*)();

  asio::any_io_executor tracked_executor() const {
    return asio::prefer(executor_, asio::execution::outstanding_work.tracked);
  }
  // Runs `action` when the clock reaches `at`, replacing whatever `timer` waited for.
  void arm(runtime::Timer& timer, runtime::Clock::time_point at, Action action);

  void open_watch();
  void reopen_watch();
  void on_first_message_timeout();
  void watch_failed(Result result);
  void repeat_current();
  void start_liveness_check();
  void on_liveness_answer(std::uint64_t generation, const grpc::Status& status,
                          runtime::Clock::time_point started);
  void on_liveness_done(const grpc::Status& status);
  void cancel_liveness_check();
  void fall_back_to_polling();
  void start_check();
  void emit_and_repeat(Result result);
  void emit(const Result& result);
  std::string who() const;

  // The channel, acquired lazily (TLS files are read then); false, with the reason in
  // channel_error_, when the TLS files cannot be used.
  bool ensure_channel();
  // After a failed probe: a channel made from TLS files that have changed since is let go, so the
  // next attempt makes a new one from the new files.
  void release_channel_if_stale();
  // A failure result for `status`, explained when it is a TLS problem (and logged as one when
  // the explanation changes).
  Result failure(Result result, const grpc::Status& status, const char* via);
  void tls_problem(const std::string& problem);
  void tls_ok();

  asio::any_io_executor executor_;
  const runtime::Clock& clock_;
  std::string name_;  // the service's id (unique), else its name, for the log
  std::string target_;
  std::string service_;
  Millis interval_;
  Millis liveness_interval_;  // at least interval_: a Check is only ever sent at a repeat
  Millis timeout_;
  bool polling_;
  config::TlsSpec tls_;
  bool transparent_retry_;
  std::optional<ProbeChannel> channel_;  // none before the first attempt or after a release
  std::unique_ptr<Health::Stub> stub_;   // on channel_
  std::string channel_error_;            // why ensure_channel() failed last
  std::string tls_problem_;              // the TLS problem logged last; "" = none
  runtime::Backoff backoff_;

  Prober::Callback callback_;
  bool started_ = false;
  bool stopped_ = false;
  bool in_callback_ = false;

  // Watch mode.
  std::shared_ptr<WatchCall> watch_;
  bool awaiting_first_ = false;
  runtime::Clock::time_point watch_opened_{};
  Millis first_message_limit_{};
  // The current stream replaces one that ended after delivering messages; until its first
  // message (or failure) nothing is reported, not even the last status again.
  bool reopening_ = false;
  int short_streams_ = 0;  // consecutive streams that ended within kStableStream of opening
  Link link_ = Link::Unknown;
  std::optional<Result> current_;  // repeated every interval: last status, or last failure
  // While a stream is up, a repeat due when the server has given no sign of life for the
  // liveness interval (no message, no answered Check started since) waits for the answer to a
  // Check on the same channel, with the probe timeout: a server that is hung or frozen (SIGSTOP)
  // keeps its stream open and silent, and only a call that goes unanswered shows it. The other
  // repeats count the stream's last status at once: one Check per target and interval was most
  // of the daemon's CPU with targets on distinct servers (issue 21). Once a Check has gone
  // unanswered there is no sign of life any more, so every repeat asks again: a suspicion is
  // confirmed at the probe interval. The stream's last status is what counts (watch_status_);
  // the Check only proves that the server still answers. The probers of a channel share one Check
  // (SharedLiveness): an answer to a Check that started within the asker's last liveness interval
  // counts for it.
  std::shared_ptr<SharedLiveness> liveness_share_;
  runtime::Clock::time_point alive_at_{};  // the last sign of life: a message, an answered Check
  // When the last Check that got no answer started: later than alive_at_ means suspected, and
  // then every repeat sends a Check of its own (an unanswered one is never reused for a whole
  // liveness interval, which would keep a server that stalled once unhealthy that long).
  runtime::Clock::time_point unanswered_at_{};
  bool liveness_waiting_ = false;
  std::uint64_t liveness_ticket_ = 0;      // for withdraw(); 0 once answered
  std::uint64_t liveness_generation_ = 0;  // answers to an earlier question are ignored
  std::optional<Result> watch_status_;
  bool liveness_supported_ = true;  // false once Check answered UNIMPLEMENTED

  // Poll mode.
  std::shared_ptr<CheckCall> check_;
  runtime::Clock::time_point next_check_{};

  runtime::Timer repeat_timer_;
  runtime::Timer first_message_timer_;
  runtime::Timer reconnect_timer_;
  runtime::Timer poll_timer_;
};

Core::Core(asio::any_io_executor executor, const config::ServiceSpec& service,
           const runtime::Clock& clock)
    : executor_(std::move(executor)),
      clock_(clock),
      name_(service.id.empty() ? service.name : service.id),
      target_(target_of(service)),
      service_(service.probe.service),
      interval_(std::max(service.probe.interval, kMinPeriod)),
      liveness_interval_(std::max(service.probe.liveness_interval, interval_)),
      timeout_(std::max(service.probe.timeout, kMinPeriod)),
      polling_(service.probe.mode == config::ProbeMode::Poll),
      tls_(service.probe.tls),
      transparent_retry_(service.probe.transparent_retry),
      backoff_(kBackoffInitial, std::max(interval_, kBackoffMinCap), kBackoffMultiplier,
               kBackoffJitter, runtime::default_random()),
      repeat_timer_(executor_, clock_),
      first_message_timer_(executor_, clock_),
      reconnect_timer_(executor_, clock_),
      poll_timer_(executor_, clock_) {}

std::string Core::who() const {
  std::string s = "probe " + name_ + " (" + target_;
  if (!service_.empty()) s += " service '" + service_ + "'";
  return s + ")";
}

bool Core::ensure_channel() {
  if (channel_) return true;
  std::string error;
  auto channel = acquire_probe_channel(target_, timeout_, tls_, error, transparent_retry_);
  if (!channel) {
    channel_error_ = "TLS setup failed: " + error;
    tls_problem(channel_error_);
    return false;
  }
  channel_ = std::move(channel);
  stub_ = Health::NewStub(channel_->channel);
  return true;
}

void Core::release_channel_if_stale() {
  // Only between calls: a call in flight keeps using the channel it started on.
  if (!channel_ || watch_ || check_ || !probe_channel_stale(*channel_, tls_)) return;
  spdlog::info("{}: TLS files changed; the next attempt reads them again", who());
  cancel_liveness_check();
  liveness_share_.reset();
  stub_.reset();
  channel_.reset();
}

Result Core::failure(Result result, const grpc::Status& status, const char* via) {
  if (auto why = explain_tls_failure(status, tls_)) {
    result.detail = *why + " [" + connection_error_text(status.error_message()) + "] (" + via + ")";
    tls_problem(*why);
  }
  release_channel_if_stale();
  return result;
}

// TLS problems are logged when they appear or change, and once when the server answers again.
void Core::tls_problem(const std::string& problem) {
  if (problem == tls_problem_) return;
  tls_problem_ = problem;
  spdlog::warn("{}: {}", who(), problem);
}

void Core::tls_ok() {
  if (tls_problem_.empty()) return;
  tls_problem_.clear();
  spdlog::info("{}: connected{}", who(), tls_.enabled ? " over TLS" : "");
}

void Core::arm(runtime::Timer& timer, runtime::Clock::time_point at, Action action) {
  // `this` is safe: the timer dies with the Core, and a dead or re-armed timer never fires. The
  // reference held while `action` runs lets the result callback destroy the prober.
  timer.arm_at(at, [this, action] {
    if (stopped_) return;
    const std::shared_ptr<Core> keep = shared_from_this();
    (this->*action)();
  });
}

void Core::start(Prober::Callback callback) {
  if (started_ || stopped_) return;
  started_ = true;
  callback_ = std::move(callback);
  if (polling_) {
    start_check();
  } else {
    open_watch();
  }
}

void Core::stop() {
  if (stopped_) return;
  stopped_ = true;
  repeat_timer_.cancel();
  first_message_timer_.cancel();
  reconnect_timer_.cancel();
  poll_timer_.cancel();
  if (watch_) {
    watch_->cancel();
    watch_.reset();
  }
  if (check_) {
    check_->cancel();
    check_.reset();
  }
  cancel_liveness_check();
  current_.reset();
  if (!in_callback_) callback_ = nullptr;  // else emit() drops it once the callback returns
}

void Core::emit(const Result& result) {
  if (stopped_ || !callback_) return;
  struct Guard {
    Core& core;
    ~Guard() {
      core.in_callback_ = false;
      if (core.stopped_) core.callback_ = nullptr;
    }
  } guard{*this};
  in_callback_ = true;
  callback_(result);
}

void Core::emit_and_repeat(Result result) {
  current_ = result;
  arm(repeat_timer_, clock_.now() + interval_, &Core::repeat_current);
  emit(result);
}

void Core::repeat_current() {
  if (!current_) return;
  if (!polling_ && link_ == Link::Up && watch_ && !awaiting_first_ && watch_status_ &&
      liveness_supported_) {
    if (liveness_waiting_) return;  // its answer emits
    if (clock_.now() - alive_at_ >= liveness_interval_) {
      start_liveness_check();
      return;
    }
  }
  Result again = *current_;
  emit_and_repeat(std::move(again));
}

void Core::start_liveness_check() {
  if (!channel_) return;  // cannot happen: a channel is let go only while no call is open
  if (!liveness_share_) liveness_share_ = SharedLiveness::for_channel(channel_->channel);
  liveness_waiting_ = true;
  const std::uint64_t generation = ++liveness_generation_;
  // The answer is handed to our executor; the tracked executor keeps it running until then.
  // While suspected, only a Check of this interval counts (as before the liveness interval
  // existed); otherwise any Check since the last liveness interval began (shared ones too).
  const bool suspected = unanswered_at_ > alive_at_;
  const auto not_before = clock_.now() - (suspected ? interval_ : liveness_interval_);
  liveness_ticket_ =
      liveness_share_->ask(service_, timeout_, clock_, not_before, tracked_executor(),
                           [weak = weak_from_this(), work = tracked_executor(), generation](
                               const grpc::Status& status, runtime::Clock::time_point started) {
                             asio::post(work, [weak, generation, status, started] {
                               if (const auto self = weak.lock())
                                 self->on_liveness_answer(generation, status, started);
                             });
                           });
}

void Core::cancel_liveness_check() {
  if (!liveness_waiting_) return;
  liveness_waiting_ = false;
  ++liveness_generation_;  // an answer already on its way is ignored
  if (liveness_ticket_ != 0) liveness_share_->withdraw(liveness_ticket_);
  liveness_ticket_ = 0;
}

void Core::on_liveness_answer(std::uint64_t generation, const grpc::Status& status,
                              runtime::Clock::time_point started) {
  if (stopped_ || !liveness_waiting_ || generation != liveness_generation_) return;
  liveness_waiting_ = false;
  liveness_ticket_ = 0;
  switch (status.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:
      unanswered_at_ = std::max(unanswered_at_, started);  // no answer from the server
      break;
    default:  // the server answered when the Check started, whatever it said
      alive_at_ = std::max(alive_at_, started);
  }
  on_liveness_done(status);
}

void Core::on_liveness_done(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      emit_and_repeat({Outcome::Timeout, "no answer to Check within " + ms_text(timeout_) +
                                             " while the Watch stream is open (watch)"});
      return;
    case grpc::StatusCode::UNAVAILABLE:
      emit_and_repeat(
          failure(result_from_check(status, HealthCheckResponse::UNKNOWN), status, "check"));
      return;
    case grpc::StatusCode::UNIMPLEMENTED:
      spdlog::info("{}: Check is not implemented by the server; the Watch stream alone decides",
                   who());
      liveness_supported_ = false;
      break;
    default:  // the server answered (whatever it said): the stream's status stands
      break;
  }
  if (watch_status_) emit_and_repeat(*watch_status_);
}

// --- Watch mode -------------------------------------------------------------------------------

void Core::open_watch() {
  if (!ensure_channel()) {
    watch_failed({Outcome::Unreachable, channel_error_});
    return;
  }
  auto call = std::make_shared<WatchCall>(shared_from_this(), tracked_executor());
  watch_ = call;
  awaiting_first_ = true;
  watch_opened_ = clock_.now();
  // A reopen also waits no longer than one interval, which bounds the time without results.
  first_message_limit_ = reopening_ ? std::min(timeout_, interval_) : timeout_;
  arm(first_message_timer_, watch_opened_ + first_message_limit_, &Core::on_first_message_timeout);
  call->start(*stub_, service_);
}

// A stream that had delivered messages ended, e.g. because the server rotates its connections
// (max connection age, a proxy, GOAWAY). The status it reported last is not repeated while its
// replacement is pending; the replacement's first message, or its failure, is the next result.
void Core::reopen_watch() {
  reopening_ = true;
  repeat_timer_.cancel();
  open_watch();
}

void Core::on_watch_message(const WatchCall* call, ServingStatus status) {
  if (stopped_ || call != watch_.get()) return;
  if (awaiting_first_) {
    awaiting_first_ = false;
    reopening_ = false;
    first_message_timer_.cancel();
    // One line for the recovery: the TLS one if a TLS problem was logged, else this one.
    if (!tls_problem_.empty()) {
      tls_ok();
    } else if (link_ == Link::Down) {
      spdlog::info("{}: Watch stream restored", who());
    }
    link_ = Link::Up;
  }
  cancel_liveness_check();  // a message proves the server answers
  alive_at_ = clock_.now();
  watch_status_ = result_from_serving_status(status, "watch");
  emit_and_repeat(*watch_status_);
}

void Core::on_first_message_timeout() {
  if (!watch_ || !awaiting_first_) return;
  // Abandon the call; its OnDone is ignored because it is no longer current.
  watch_->cancel();
  watch_.reset();
  awaiting_first_ = false;
  cancel_liveness_check();
  watch_status_.reset();
  watch_failed({Outcome::Timeout, "no Watch response within " + ms_text(first_message_limit_)});
}

void Core::on_watch_done(const WatchCall* call, const grpc::Status& status) {
  if (stopped_ || call != watch_.get()) return;
  const bool delivered = !awaiting_first_;
  const auto lived = std::chrono::duration_cast<Millis>(clock_.now() - watch_opened_);
  watch_.reset();
  awaiting_first_ = false;
  cancel_liveness_check();
  watch_status_.reset();
  first_message_timer_.cancel();
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    fall_back_to_polling();
    return;
  }
  if (lived < kStableStream) {
    ++short_streams_;
  } else {
    short_streams_ = 0;
    // Reset here rather than on the first message: a server that answers and then closes every
    // stream at once backs off like one that refuses.
    if (delivered) backoff_.reset();
  }
  if (delivered && short_streams_ < kMaxShortStreams) {
    spdlog::debug("{}: Watch stream ended after {} ({}); reopening", who(), ms_text(lived),
                  status_code_name(status.error_code()));
    reopen_watch();
    return;
  }
  watch_failed(failure(result_from_watch_end(status), status, "watch"));
}

void Core::watch_failed(Result result) {
  reopening_ = false;
  // A TLS problem has just been logged (tls_problem) in its own words: one line, not two.
  const bool logged = !tls_problem_.empty() && result.detail.rfind(tls_problem_, 0) == 0;
  if (link_ != Link::Down && !logged) {
    spdlog::warn("{}: Watch stream broken: {}", who(), result.detail);
  }
  link_ = Link::Down;
  arm(reconnect_timer_, clock_.now() + backoff_.next(), &Core::open_watch);
  emit_and_repeat(std::move(result));  // repeated every interval while disconnected
}

void Core::fall_back_to_polling() {
  spdlog::info("{}: Watch is not implemented by the server; polling Check every {} instead", who(),
               ms_text(interval_));
  polling_ = true;
  reopening_ = false;
  current_.reset();
  repeat_timer_.cancel();
  reconnect_timer_.cancel();
  start_check();
}

// --- Poll mode --------------------------------------------------------------------------------

void Core::start_check() {
  next_check_ = clock_.now() + interval_;
  if (!ensure_channel()) {
    arm(poll_timer_, next_check_, &Core::start_check);
    emit({Outcome::Unreachable, channel_error_});
    return;
  }
  auto call = std::make_shared<CheckCall>(shared_from_this(), tracked_executor());
  check_ = call;
  call->start(*stub_, service_, timeout_);
}

void Core::on_check_done(const CheckCall* call, const grpc::Status& status, ServingStatus serving) {
  if (stopped_) return;
  if (call != check_.get()) return;
  check_.reset();
  // The next call starts at the later of the next tick and now: calls never overlap.
  arm(poll_timer_, next_check_, &Core::start_check);
  if (status.ok()) {
    tls_ok();
    emit(result_from_check(status, serving));
  } else {
    emit(failure(result_from_check(status, serving), status, "check"));
  }
}

class GrpcHealthProber final : public Prober {
 public:
  GrpcHealthProber(asio::any_io_executor executor, const config::ServiceSpec& service,
                   const runtime::Clock& clock)
      : core_(std::make_shared<Core>(std::move(executor), service, clock)) {}
  ~GrpcHealthProber() override { core_->stop(); }

  void start(Callback on_result) override { core_->start(std::move(on_result)); }
  void stop() override { core_->stop(); }

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace

std::unique_ptr<Prober> make_grpc_health_prober(boost::asio::any_io_executor executor,
                                                const config::ServiceSpec& service,
                                                const runtime::Clock& clock) {
  return std::make_unique<GrpcHealthProber>(std::move(executor), service, clock);
}

}  // namespace registrar::probe
