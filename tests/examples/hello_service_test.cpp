// Integration tests of examples/hello-service: each test spawns the real binary, talks to it with
// real gRPC clients over 127.0.0.1 and controls it with signals, HealthControl and its client mode.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "hello.grpc.pb.h"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

constexpr auto kStartTimeout = 10s;  // for the server to print its listening line
constexpr auto kRpcTimeout = 5s;     // for an RPC that is expected to answer
constexpr auto kExitTimeout = 5s;    // for a process that is expected to exit

// ---------------------------------------------------------------------------------------------
// A child process, killed (SIGKILL) and reaped by the destructor unless it was already reaped.

class Child {
 public:
  // Spawns `path args...`; with capture_stdout its stdout is readable through ReadLine.
  Child(const std::string& path, const std::vector<std::string>& args, bool capture_stdout) {
    int fds[2] = {-1, -1};
    if (capture_stdout && pipe2(fds, O_CLOEXEC) != 0) {
      throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (capture_stdout) posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);

    // The child starts with no blocked signals and default dispositions, whatever the caller has.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    for (int sig : {SIGUSR1, SIGUSR2, SIGTERM, SIGINT, SIGPIPE}) sigaddset(&defaults, sig);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<std::string> argv_storage{path};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);

    const int err = posix_spawn(&pid_, path.c_str(), &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (capture_stdout) close(fds[1]);
    if (err != 0) {
      if (capture_stdout) close(fds[0]);
      throw std::runtime_error("posix_spawn " + path + ": " + std::strerror(err));
    }
    out_fd_ = capture_stdout ? fds[0] : -1;
  }

  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  ~Child() {
    if (!reaped_) {
      kill(pid_, SIGKILL);
      int status = 0;
      for (int attempt = 0; attempt < 100; ++attempt) {  // retried only when interrupted
        if (waitpid(pid_, &status, 0) >= 0 || errno != EINTR) break;
      }
    }
    if (out_fd_ >= 0) close(out_fd_);
  }

  pid_t pid() const { return pid_; }

  void Signal(int sig) const {
    if (!reaped_) kill(pid_, sig);
  }

  // The next line of the child's stdout (without '\n'), or nullopt on EOF or timeout.
  std::optional<std::string> ReadLine(Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {  // bounded by the deadline
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (out_fd_ < 0 || left <= 0) return std::nullopt;
      pollfd pfd{out_fd_, POLLIN, 0};
      const int ready = poll(&pfd, 1, static_cast<int>(left));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return std::nullopt;
      char chunk[256];
      const ssize_t n = read(out_fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::nullopt;  // EOF: the child closed stdout
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  // The raw wait status once the child has exited, or nullopt if it is still running after
  // `timeout`.
  std::optional<int> WaitExit(Clock::duration timeout) {
    if (reaped_) return wait_status_;
    const auto deadline = Clock::now() + timeout;
    while (true) {  // bounded by the deadline
      int status = 0;
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        wait_status_ = status;
        return status;
      }
      if (r < 0 && errno != EINTR) throw std::runtime_error("waitpid failed");
      if (Clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(5ms);  // polling interval, not a synchronisation delay
    }
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
  bool reaped_ = false;
  int wait_status_ = 0;
};

bool ExitedWith(std::optional<int> status, int code) {
  return status && WIFEXITED(*status) && WEXITSTATUS(*status) == code;
}

// Runs the binary's client mode to completion; its exit code, or -1 if it did not exit cleanly.
int RunTool(const std::vector<std::string>& args) {
  Child tool(HELLO_SERVICE_BIN, args, /*capture_stdout=*/false);
  const auto status = tool.WaitExit(kStartTimeout);
  if (!status || !WIFEXITED(*status)) return -1;
  return WEXITSTATUS(*status);
}

// "listening on 127.0.0.1:PORT" -> PORT; 0 if the line has any other form.
int ParseListeningLine(const std::string& line) {
  const std::string prefix = "listening on 127.0.0.1:";
  if (line.rfind(prefix, 0) != 0) return 0;
  const std::string digits = line.substr(prefix.size());
  if (digits.empty() || digits.size() > 5) return 0;
  int port = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    port = port * 10 + (c - '0');
  }
  return port <= 65535 ? port : 0;
}

// ---------------------------------------------------------------------------------------------
// A running hello-service with clients of each of its services.

struct Server {
  explicit Server(std::vector<std::string> args)
      : process(HELLO_SERVICE_BIN, args, /*capture_stdout=*/true) {
    const auto line = process.ReadLine(kStartTimeout);
    INFO("stdout line: " << line.value_or("<none>"));
    REQUIRE(line.has_value());
    port = ParseListeningLine(*line);
    REQUIRE(port > 0);
    address = "127.0.0.1:" + std::to_string(port);
    channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    health = Health::NewStub(channel);
    control = hello::v1::HealthControl::NewStub(channel);
  }

  Child process;
  int port = 0;
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<Health::Stub> health;
  std::unique_ptr<hello::v1::HealthControl::Stub> control;
};

struct CheckResult {
  grpc::Status status;
  HealthCheckResponse::ServingStatus serving = HealthCheckResponse::UNKNOWN;
};

CheckResult Check(Server& server, const std::string& name, Clock::duration timeout = kRpcTimeout) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  HealthCheckRequest request;
  request.set_service(name);
  HealthCheckResponse response;
  CheckResult result;
  result.status = server.health->Check(&context, request, &response);
  result.serving = response.status();
  return result;
}

// Check that must succeed; the status it reports.
HealthCheckResponse::ServingStatus CheckOk(Server& server, const std::string& name) {
  const auto result = Check(server, name);
  INFO("Check(\"" << name << "\"): code " << result.status.error_code() << " "
                  << result.status.error_message());
  REQUIRE(result.status.ok());
  return result.serving;
}

void SetStatus(Server& server, const std::string& name, bool serving) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
  hello::v1::SetStatusRequest request;
  request.set_service(name);
  request.set_serving(serving);
  hello::v1::SetStatusReply reply;
  const auto status = server.control->SetStatus(&context, request, &reply);
  REQUIRE(status.ok());
}

void SetHang(Server& server, bool hang) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
  hello::v1::SetHangRequest request;
  request.set_hang(hang);
  hello::v1::SetHangReply reply;
  const auto status = server.control->SetHang(&context, request, &reply);
  REQUIRE(status.ok());
}

// A Health.Watch stream; Next() blocks for the next message up to the stream's overall deadline.
class Watch {
 public:
  Watch(Server& server, const std::string& name, Clock::duration timeout = 20s) {
    context_.set_deadline(std::chrono::system_clock::now() + timeout);
    HealthCheckRequest request;
    request.set_service(name);
    reader_ = server.health->Watch(&context_, request);
  }
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;
  ~Watch() {
    if (!finished_) {
      context_.TryCancel();
      reader_->Finish();
    }
  }

  std::optional<HealthCheckResponse::ServingStatus> Next() {
    HealthCheckResponse response;
    if (!reader_->Read(&response)) return std::nullopt;
    return response.status();
  }

  // After Next() returned nullopt: how the stream ended.
  grpc::Status Finish() {
    finished_ = true;
    return reader_->Finish();
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> reader_;
  bool finished_ = false;
};

// A Check in flight on the async API, so that the test can act while the server holds it.
class PendingCheck {
 public:
  PendingCheck(Server& server, const std::string& name, Clock::duration timeout) {
    context_.set_deadline(std::chrono::system_clock::now() + timeout);
    request_.set_service(name);
    done_ = promise_.get_future();
    server.health->async()->Check(&context_, &request_, &response_,
                                  [this](grpc::Status status) { promise_.set_value(status); });
  }
  PendingCheck(const PendingCheck&) = delete;
  PendingCheck& operator=(const PendingCheck&) = delete;
  ~PendingCheck() {
    // The callback refers to this object: make sure it has run before going away.
    if (done_.valid() && done_.wait_for(0s) != std::future_status::ready) {
      context_.TryCancel();
      done_.wait_for(kRpcTimeout);
    }
  }

  bool Ready() const { return done_.wait_for(0s) == std::future_status::ready; }
  bool WaitReady(Clock::duration timeout) const {
    return done_.wait_for(timeout) == std::future_status::ready;
  }
  grpc::Status status() const { return done_.get(); }
  HealthCheckResponse::ServingStatus serving() const { return response_.status(); }

 private:
  grpc::ClientContext context_;
  HealthCheckRequest request_;
  HealthCheckResponse response_;
  std::promise<grpc::Status> promise_;
  std::shared_future<grpc::Status> done_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

TEST_CASE("hello-service prints its listening line and answers Check, Hello and Ping") {
  Server server({});
  CHECK(CheckOk(server, "") == HealthCheckResponse::SERVING);
  CHECK(CheckOk(server, "hello.v1.Hello") == HealthCheckResponse::SERVING);
  CHECK(CheckOk(server, "hello.v1.Ping") == HealthCheckResponse::SERVING);

  auto hello = hello::v1::Hello::NewStub(server.channel);
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
    hello::v1::HelloRequest request;
    request.set_name("registrar");
    hello::v1::HelloReply reply;
    REQUIRE(hello->SayHello(&context, request, &reply).ok());
    CHECK(reply.message() == "Hello, registrar!");
  }

  auto ping = hello::v1::Ping::NewStub(server.channel);
  {
    const auto before = std::chrono::system_clock::now().time_since_epoch();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
    hello::v1::PingReply reply;
    REQUIRE(ping->Ping(&context, hello::v1::PingRequest(), &reply).ok());
    const auto after = std::chrono::system_clock::now().time_since_epoch();
    CHECK(reply.message() == "pong");
    CHECK(reply.unix_nanos() >=
          std::chrono::duration_cast<std::chrono::nanoseconds>(before).count());
    CHECK(reply.unix_nanos() <=
          std::chrono::duration_cast<std::chrono::nanoseconds>(after).count());
  }
}

TEST_CASE("hello-service: Check on an unknown name gives NOT_FOUND") {
  Server server({"--service", "known"});
  CHECK(CheckOk(server, "known") == HealthCheckResponse::SERVING);
  const auto result = Check(server, "no.such.Service");
  CHECK(result.status.error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("hello-service: Watch follows SIGUSR1 and SIGUSR2") {
  Server server({"--service", "svc"});
  Watch whole(server, "");
  Watch named(server, "svc");
  REQUIRE(whole.Next() == HealthCheckResponse::SERVING);
  REQUIRE(named.Next() == HealthCheckResponse::SERVING);

  server.process.Signal(SIGUSR1);
  CHECK(whole.Next() == HealthCheckResponse::NOT_SERVING);
  CHECK(named.Next() == HealthCheckResponse::NOT_SERVING);
  CHECK(CheckOk(server, "hello.v1.Hello") == HealthCheckResponse::NOT_SERVING);

  server.process.Signal(SIGUSR2);
  CHECK(whole.Next() == HealthCheckResponse::SERVING);
  CHECK(named.Next() == HealthCheckResponse::SERVING);
  CHECK(CheckOk(server, "hello.v1.Hello") == HealthCheckResponse::SERVING);
}

TEST_CASE("hello-service: Watch on an unknown name gets SERVICE_UNKNOWN and stays open") {
  Server server({});
  Watch watch(server, "later.Service");
  REQUIRE(watch.Next() == HealthCheckResponse::SERVICE_UNKNOWN);
  // Still open: when the name becomes known, the same stream reports its status.
  SetStatus(server, "later.Service", false);
  CHECK(watch.Next() == HealthCheckResponse::NOT_SERVING);
  SetStatus(server, "later.Service", true);
  CHECK(watch.Next() == HealthCheckResponse::SERVING);
  CHECK(CheckOk(server, "later.Service") == HealthCheckResponse::SERVING);
}

TEST_CASE("hello-service: SetStatus on one name changes only that name") {
  Server server({"--service", "a", "--service", "b"});
  Watch watch_a(server, "a");
  REQUIRE(watch_a.Next() == HealthCheckResponse::SERVING);

  SetStatus(server, "a", false);
  CHECK(watch_a.Next() == HealthCheckResponse::NOT_SERVING);
  CHECK(CheckOk(server, "a") == HealthCheckResponse::NOT_SERVING);
  CHECK(CheckOk(server, "b") == HealthCheckResponse::SERVING);
  CHECK(CheckOk(server, "") == HealthCheckResponse::SERVING);
  CHECK(CheckOk(server, "hello.v1.Hello") == HealthCheckResponse::SERVING);

  SetStatus(server, "", false);  // the whole server, and nothing else
  CHECK(CheckOk(server, "") == HealthCheckResponse::NOT_SERVING);
  CHECK(CheckOk(server, "b") == HealthCheckResponse::SERVING);
  CHECK(CheckOk(server, "hello.v1.Ping") == HealthCheckResponse::SERVING);

  SetStatus(server, "a", true);
  CHECK(watch_a.Next() == HealthCheckResponse::SERVING);
  CHECK(CheckOk(server, "a") == HealthCheckResponse::SERVING);
}

TEST_CASE("hello-service: --no-watch makes Watch UNIMPLEMENTED while Check works") {
  Server server({"--no-watch"});
  Watch watch(server, "");
  CHECK_FALSE(watch.Next().has_value());
  CHECK(watch.Finish().error_code() == grpc::StatusCode::UNIMPLEMENTED);
  CHECK(CheckOk(server, "") == HealthCheckResponse::SERVING);
  server.process.Signal(SIGUSR1);
  // No Watch to wait on: poll Check until the signal has been handled.
  const auto deadline = Clock::now() + kRpcTimeout;
  auto serving = CheckOk(server, "");
  while (serving != HealthCheckResponse::NOT_SERVING && Clock::now() < deadline) {
    serving = CheckOk(server, "");
  }
  CHECK(serving == HealthCheckResponse::NOT_SERVING);
}

TEST_CASE("hello-service: hang mode holds Check and Watch until it is lifted") {
  Server server({"--service", "svc"});
  SetHang(server, true);

  const auto timed_out = Check(server, "", 200ms);
  CHECK(timed_out.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);

  PendingCheck held(server, "", 30s);
  Watch watch(server, "svc");
  // Changed while hanging: the Watch opened in hang mode must not have sent its opening SERVING.
  SetStatus(server, "svc", false);
  const auto unknown_timed_out = Check(server, "no.such.Service", 200ms);
  CHECK(unknown_timed_out.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  CHECK_FALSE(held.Ready());

  SetHang(server, false);
  REQUIRE(held.WaitReady(kRpcTimeout));
  CHECK(held.status().ok());
  CHECK(held.serving() == HealthCheckResponse::SERVING);
  CHECK(watch.Next() == HealthCheckResponse::NOT_SERVING);
  CHECK(CheckOk(server, "") == HealthCheckResponse::SERVING);
  CHECK(Check(server, "no.such.Service").status.error_code() == grpc::StatusCode::NOT_FOUND);

  // The Watch keeps following changes once hang mode is over.
  SetStatus(server, "svc", true);
  CHECK(watch.Next() == HealthCheckResponse::SERVING);
}

TEST_CASE("hello-service: --not-serving starts every name NOT_SERVING") {
  Server server({"--not-serving", "--service", "svc"});
  CHECK(CheckOk(server, "") == HealthCheckResponse::NOT_SERVING);
  CHECK(CheckOk(server, "svc") == HealthCheckResponse::NOT_SERVING);
  CHECK(CheckOk(server, "hello.v1.Hello") == HealthCheckResponse::NOT_SERVING);
  Watch watch(server, "");
  CHECK(watch.Next() == HealthCheckResponse::NOT_SERVING);
  server.process.Signal(SIGUSR2);
  CHECK(watch.Next() == HealthCheckResponse::SERVING);
}

TEST_CASE("hello-service: set-status and set-hang client modes") {
  Server server({"--service", "svc"});

  CHECK(RunTool({"set-status", "--target", server.address, "--service", "svc", "--not-serving"}) ==
        0);
  CHECK(CheckOk(server, "svc") == HealthCheckResponse::NOT_SERVING);
  CHECK(CheckOk(server, "") == HealthCheckResponse::SERVING);

  CHECK(RunTool({"set-status", "--target", server.address, "--service", "", "--not-serving"}) == 0);
  CHECK(CheckOk(server, "") == HealthCheckResponse::NOT_SERVING);
  CHECK(RunTool({"set-status", "--target", server.address, "--service", "svc", "--serving"}) == 0);
  CHECK(CheckOk(server, "svc") == HealthCheckResponse::SERVING);

  CHECK(RunTool({"set-hang", "--target", server.address, "--on"}) == 0);
  CHECK(Check(server, "", 200ms).status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  CHECK(RunTool({"set-hang", "--target", server.address, "--off"}) == 0);
  CHECK(CheckOk(server, "") == HealthCheckResponse::NOT_SERVING);

  // Usage errors and unreachable servers give a non-zero exit.
  CHECK(RunTool({"set-status", "--target", server.address, "--service", "svc"}) > 0);
  CHECK(RunTool({"set-hang", "--target", server.address, "--on", "--off"}) > 0);
  CHECK(RunTool({"set-status", "--target", "127.0.0.1:1", "--timeout", "0.3", "--serving"}) > 0);
}

TEST_CASE("hello-service: SIGTERM sends NOT_SERVING to watchers and exits 0") {
  Server server({});
  Watch watch(server, "");
  REQUIRE(watch.Next() == HealthCheckResponse::SERVING);

  server.process.Signal(SIGTERM);
  CHECK(watch.Next() == HealthCheckResponse::NOT_SERVING);
  CHECK_FALSE(watch.Next().has_value());  // the stream ends with the server
  CHECK(watch.Finish().error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(ExitedWith(server.process.WaitExit(kExitTimeout), 0));
}

TEST_CASE("hello-service: SIGTERM releases Checks held in hang mode and exits 0") {
  Server server({});
  SetHang(server, true);
  PendingCheck held(server, "", 30s);
  CHECK(Check(server, "", 200ms).status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);

  server.process.Signal(SIGTERM);
  REQUIRE(held.WaitReady(kExitTimeout));
  CHECK(held.status().ok());
  CHECK(held.serving() == HealthCheckResponse::NOT_SERVING);
  CHECK(ExitedWith(server.process.WaitExit(kExitTimeout), 0));
}

TEST_CASE("hello-service: SIGINT exits 0") {
  Server server({});
  CHECK(CheckOk(server, "") == HealthCheckResponse::SERVING);
  server.process.Signal(SIGINT);
  CHECK(ExitedWith(server.process.WaitExit(kExitTimeout), 0));
}

TEST_CASE("hello-service: a port already in use is an error") {
  Server first({});
  Child second(HELLO_SERVICE_BIN, {"--listen", first.address}, /*capture_stdout=*/true);
  CHECK_FALSE(second.ReadLine(kStartTimeout).has_value());
  const auto status = second.WaitExit(kExitTimeout);
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) != 0);
}
