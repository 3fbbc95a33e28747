#include "obs/systemd_notify.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <spdlog/spdlog.h>

namespace pg::obs {

namespace {

std::uint64_t monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

/// STATUS= is one line: newlines would end it early (the protocol is newline-separated).
std::string one_line(std::string text) {
  for (auto& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

}  // namespace

SystemdNotifier::SystemdNotifier(boost::asio::io_context& io) : timer_(io) {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
  std::uint64_t usec = 0;
  // > 0: WATCHDOG_USEC is set and WATCHDOG_PID is absent or ours.
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) watchdog_ = std::chrono::microseconds(usec);
}

SystemdNotifier::~SystemdNotifier() { stop_watchdog(); }

bool SystemdNotifier::send(const std::string& state) {
  if (!enabled_) return false;
  int r = sd_notify(0, state.c_str());
  if (r < 0) {
    spdlog::warn("sd_notify failed: {}", std::strerror(-r));
    return false;
  }
  return r > 0;
}

void SystemdNotifier::ready(const std::string& status) { send("READY=1\nSTATUS=" + one_line(status)); }

void SystemdNotifier::status(const std::string& text) { send("STATUS=" + one_line(text)); }

void SystemdNotifier::reloading() {
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()) + "\nSTATUS=reloading configuration");
}

void SystemdNotifier::stopping() { send("STOPPING=1\nSTATUS=stopping: draining in-flight calls"); }

void SystemdNotifier::start_watchdog() {
  if (!enabled_ || watchdog_.count() <= 0 || watchdog_running_) return;
  watchdog_running_ = true;
  spdlog::debug("systemd watchdog: pinging every {} ms", (watchdog_ / 2).count() / 1000);
  send("WATCHDOG=1");
  arm_watchdog();
}

void SystemdNotifier::stop_watchdog() {
  watchdog_running_ = false;
  timer_.cancel();
}

void SystemdNotifier::arm_watchdog() {
  timer_.expires_after(watchdog_ / 2);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !watchdog_running_) return;
    send("WATCHDOG=1");
    arm_watchdog();
  });
}

}  // namespace pg::obs
