// pie-gateway as a systemd service: the sd_notify protocol against a fake NOTIFY_SOCKET (READY,
// WATCHDOG, RELOADING on SIGHUP, STOPPING on SIGTERM), and `systemd-analyze verify` on the unit.
#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/stack.hpp"

using namespace std::chrono_literals;
using pg::test::HttpClient;
using pg::test::Process;
using pg::test::Stack;
using pg::test::StackOptions;

namespace {

/// The systemd side of sd_notify: a unix datagram socket whose messages a background thread reads
/// at once (a full socket queue would block the gateway's sendmsg, as it would with a stuck systemd).
class NotifyListener {
 public:
  explicit NotifyListener(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("bind " + path + ": " + std::strerror(errno));
    reader_ = std::thread([this] { read_loop(); });
  }
  ~NotifyListener() {
    stop_ = true;
    reader_.join();
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  NotifyListener(const NotifyListener&) = delete;
  NotifyListener& operator=(const NotifyListener&) = delete;

  /// The next message, or nullopt after `timeout`.
  std::optional<std::string> next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [this] { return !queue_.empty(); })) return std::nullopt;
    std::string m = std::move(queue_.front());
    queue_.pop_front();
    return m;
  }
  /// Consumes messages until one contains `needle` (returned), or nullopt after `timeout`.
  std::optional<std::string> wait_for(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto m = next(left);
      if (!m) return std::nullopt;
      if (m->find(needle) != std::string::npos) return m;
    }
  }
  /// Counts messages containing `needle` that arrive within `window`.
  int count_within(const std::string& needle, std::chrono::milliseconds window) {
    const auto deadline = std::chrono::steady_clock::now() + window;
    int n = 0;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return n;
      auto m = next(left);
      if (!m) return n;
      if (m->find(needle) != std::string::npos) ++n;
    }
  }
  /// Everything received so far, for failure messages.
  std::string history() {
    std::lock_guard lock(mu_);
    return history_;
  }

 private:
  void read_loop() {
    char buf[4096];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      std::lock_guard lock(mu_);
      queue_.emplace_back(buf, static_cast<std::size_t>(n));
      history_ += "[" + queue_.back() + "]\n";
      cv_.notify_all();
    }
  }

  std::string path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::string history_;
  std::thread reader_;
};

/// Sets environment variables for the processes started in its scope; restores them after.
class ScopedEnv {
 public:
  ScopedEnv(std::vector<std::pair<std::string, std::string>> vars) {  // NOLINT(google-explicit-constructor)
    for (auto& [name, value] : vars) {
      const char* old = std::getenv(name.c_str());
      saved_.push_back({name, old ? std::optional<std::string>(old) : std::nullopt});
      ::setenv(name.c_str(), value.c_str(), 1);
    }
  }
  ~ScopedEnv() {
    for (auto& [name, old] : saved_) {
      if (old)
        ::setenv(name.c_str(), old->c_str(), 1);
      else
        ::unsetenv(name.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

const char* kEndpoints = R"(
  - name: echo
    kind: get
    inferlet: std/echo@0.1.0
    params: [{name: text}]
    arguments: ["{text}"]
  - name: sleep
    kind: get
    inferlet: std/sleep@0.1.0
    params: [{name: ms, type: int}]
    arguments: ["--ms", "{ms}"]
    timeout: 60s
)";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A Stack whose gateway (and pie-sim) run with NOTIFY_SOCKET (and WATCHDOG_USEC) set.
struct NotifiedStack {
  explicit NotifiedStack(StackOptions opts, std::string watchdog_usec = "200000")
      : dir(pg::test::temp_dir()), notify(dir + "/notify") {
    std::vector<std::pair<std::string, std::string>> env{{"NOTIFY_SOCKET", dir + "/notify"}};
    // No WATCHDOG_PID: sd_watchdog_enabled accepts its absence (the pid is unknown before fork).
    if (!watchdog_usec.empty()) env.emplace_back("WATCHDOG_USEC", watchdog_usec);
    ScopedEnv scoped(env);
    stack = std::make_unique<Stack>(std::move(opts));
  }
  ~NotifiedStack() {
    stack.reset();  // the gateway and pie-sim stop first
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  NotifiedStack(const NotifiedStack&) = delete;
  NotifiedStack& operator=(const NotifiedStack&) = delete;
  std::string dir;
  NotifyListener notify;
  std::unique_ptr<Stack> stack;
};

TEST(Systemd, ReadyWatchdogReloadAndStop) {
  StackOptions opts;
  opts.endpoints_yaml = kEndpoints;
  NotifiedStack ns(opts);
  auto& s = *ns.stack;

  auto ready = ns.notify.wait_for("READY=1", 10s);
  ASSERT_TRUE(ready) << "no READY=1; got " << ns.notify.history() << "\nlog:\n" << s.gateway_log();
  EXPECT_NE(ready->find("STATUS="), std::string::npos) << *ready;

  // WATCHDOG_USEC=200000: a ping every 100 ms from the event loop.
  EXPECT_GE(ns.notify.count_within("WATCHDOG=1", 1000ms), 2) << ns.notify.history();

  // SIGHUP with a valid, changed config: RELOADING=1 (with MONOTONIC_USEC), then READY=1.
  const std::string config_path = s.dir + "/gateway.yaml";
  const std::string original = read_file(config_path);
  pg::test::write_file(config_path, original + R"(
  - name: echo_reloaded
    kind: get
    inferlet: std/echo@0.1.0
    params: [{name: text}]
    arguments: ["{text}"]
)");
  s.gateway->signal(SIGHUP);
  auto reloading = ns.notify.wait_for("RELOADING=1", 5s);
  ASSERT_TRUE(reloading) << ns.notify.history() << "\nlog:\n" << s.gateway_log();
  EXPECT_NE(reloading->find("MONOTONIC_USEC="), std::string::npos) << *reloading;
  auto ready_again = ns.notify.wait_for("READY=1", 5s);
  ASSERT_TRUE(ready_again) << ns.notify.history() << "\nlog:\n" << s.gateway_log();
  EXPECT_NE(ready_again->find("STATUS="), std::string::npos) << *ready_again;
  {
    auto c = s.client();
    auto discovery = c.get("/");
    EXPECT_EQ(discovery.status, 200);
    EXPECT_NE(discovery.body.find("echo_reloaded"), std::string::npos) << discovery.body << "\nlog:\n"
                                                                       << s.gateway_log();
  }

  // SIGHUP with an invalid config: logged at error level, old config kept, READY=1 again, still serving.
  pg::test::write_file(config_path, original + "bogus_key: 1\n");
  s.gateway->signal(SIGHUP);
  ASSERT_TRUE(ns.notify.wait_for("RELOADING=1", 5s)) << ns.notify.history();
  ASSERT_TRUE(ns.notify.wait_for("READY=1", 5s)) << ns.notify.history() << "\nlog:\n" << s.gateway_log();
  const auto log = s.gateway_log();
  EXPECT_NE(log.find(" error "), std::string::npos) << log;
  EXPECT_NE(log.find("bogus_key"), std::string::npos) << log;
  {
    auto c = s.client();
    EXPECT_EQ(c.get("/healthz").status, 200);
    auto discovery = c.get("/");
    EXPECT_NE(discovery.body.find("echo_reloaded"), std::string::npos) << "the last good config must stay";
    auto echo = c.get("/echo?text=still+here");
    EXPECT_EQ(echo.status, 200) << echo.body;
  }

  // SIGTERM: STOPPING=1, drain (nothing in flight), exit 0.
  s.gateway->signal(SIGTERM);
  EXPECT_TRUE(ns.notify.wait_for("STOPPING=1", 5s)) << ns.notify.history();
  auto status = s.gateway->wait(15s);
  ASSERT_TRUE(status) << "pie-gateway did not exit after SIGTERM";
  EXPECT_EQ(*status, 0) << s.gateway_log();
}

TEST(Systemd, ReadyWithoutReachablePieServer) {
  // Nothing listens on port 1: READY=1 must still come once the HTTP listener is bound.
  StackOptions opts;
  opts.start_sim = false;
  opts.wait_ready = false;
  opts.servers_yaml = "servers:\n  - name: nowhere\n    uri: ws://127.0.0.1:1/\n    connect_timeout: 1s\n";
  opts.endpoints_yaml = kEndpoints;
  NotifiedStack ns(opts, /*watchdog_usec=*/"");
  auto& s = *ns.stack;
  auto ready = ns.notify.wait_for("READY=1", 10s);
  ASSERT_TRUE(ready) << ns.notify.history() << "\nlog:\n" << s.gateway_log();
  EXPECT_NE(ready->find("STATUS="), std::string::npos);
  EXPECT_EQ(s.client().get("/healthz").status, 200);
  // No WATCHDOG_USEC: no pings.
  EXPECT_EQ(ns.notify.count_within("WATCHDOG=1", 300ms), 0) << ns.notify.history();
  s.gateway->signal(SIGINT);
  EXPECT_TRUE(ns.notify.wait_for("STOPPING=1", 5s)) << ns.notify.history();
  auto status = s.gateway->wait(15s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0) << s.gateway_log();
}

TEST(Systemd, SecondSignalWhileDrainingStopsAtOnce) {
  StackOptions opts;
  opts.endpoints_yaml = kEndpoints;
  NotifiedStack ns(opts);
  auto& s = *ns.stack;
  ASSERT_TRUE(ns.notify.wait_for("READY=1", 10s)) << ns.notify.history();

  // A 20 s call in flight: the drain (10 s by default) waits for it.
  std::jthread caller([port = s.http_port] {
    HttpClient c(port);
    c.timeout = 30s;
    (void)c.get("/sleep?ms=20000");
  });
  std::this_thread::sleep_for(500ms);
  s.gateway->signal(SIGTERM);
  EXPECT_TRUE(ns.notify.wait_for("STOPPING=1", 5s)) << ns.notify.history();
  EXPECT_FALSE(s.gateway->wait(500ms)) << "exited without draining the in-flight call";

  s.gateway->signal(SIGTERM);
  auto status = s.gateway->wait(5s);  // far less than the 20 s call still in flight
  ASSERT_TRUE(status) << "second SIGTERM did not stop pie-gateway";
  EXPECT_EQ(*status, 0) << s.gateway_log();
  caller.join();
}

TEST(Systemd, UnitFileVerifies) {
  std::string analyze;
  for (const char* p : {"/usr/bin/systemd-analyze", "/bin/systemd-analyze"})
    if (::access(p, X_OK) == 0) analyze = p;
  ASSERT_FALSE(analyze.empty()) << "systemd-analyze not found: install Debian's systemd (tools/install-deps.sh)";

  std::string unit = read_file(std::string(PG_SOURCE_DIR) + "/deploy/pie-gateway.service");
  ASSERT_FALSE(unit.empty());
  for (const char* line : {"Type=notify\n", "ExecReload=/bin/kill -HUP $MAINPID\n", "WatchdogSec=", "DynamicUser=yes\n"})
    EXPECT_NE(unit.find(line), std::string::npos) << line;

  // systemd-analyze wants ExecStart's binary to exist: point it at the built one and a real config.
  const std::string dir = pg::test::temp_dir();
  const std::string binary = std::filesystem::absolute(pg::test::binary_path("pie-gateway")).string();
  const std::string config = dir + "/gateway.yaml";
  pg::test::write_file(config, read_file(std::string(PG_SOURCE_DIR) + "/config/gateway.yaml"));
  auto replace = [&unit](const std::string& from, const std::string& to) {
    auto at = unit.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    unit.replace(at, from.size(), to);
  };
  replace("ExecStart=/usr/local/bin/pie-gateway ", "ExecStart=" + binary + " ");
  replace("--config /etc/pie-gateway/gateway.yaml", "--config " + config);
  const std::string unit_path = dir + "/pie-gateway.service";
  pg::test::write_file(unit_path, unit);

  Process p({analyze, "verify", unit_path}, dir + "/verify.err");
  std::string out;
  while (auto line = p.read_line(20s)) out += *line + "\n";
  auto status = p.wait(20s);
  ASSERT_TRUE(status) << "systemd-analyze verify did not finish";
  const auto err = read_file(dir + "/verify.err");
  EXPECT_EQ(*status, 0) << out << err;
  // Warnings (unknown keys, bad values) do not change the exit status: the output must be empty.
  EXPECT_EQ(out + err, "") << "systemd-analyze verify complained";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
