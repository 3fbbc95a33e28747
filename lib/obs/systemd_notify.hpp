// systemd's service notification protocol (sd_notify) for a Type=notify unit: READY, STATUS,
// RELOADING, STOPPING and the watchdog. Every call is a no-op when systemd did not give us a
// NOTIFY_SOCKET (run by hand, in tests without one, under another supervisor).
#pragma once

#include <chrono>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace pg::obs {

class SystemdNotifier {
 public:
  /// Reads NOTIFY_SOCKET and WATCHDOG_USEC (via sd_watchdog_enabled) once, now.
  explicit SystemdNotifier(boost::asio::io_context& io);
  ~SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  /// True when NOTIFY_SOCKET is set (systemd listens).
  bool enabled() const { return enabled_; }
  /// The watchdog interval systemd asked for (WatchdogSec=), or 0 when there is none.
  std::chrono::microseconds watchdog_interval() const { return watchdog_; }

  /// READY=1 with STATUS=<status>: start-up finished, or a reload finished.
  void ready(const std::string& status);
  /// STATUS=<text>: free-form line shown by `systemctl status`.
  void status(const std::string& text);
  /// RELOADING=1 with MONOTONIC_USEC=<now> (systemd >= 253 pairs the two); READY=1 must follow.
  void reloading();
  /// STOPPING=1: shutdown has begun.
  void stopping();

  /// When systemd set WATCHDOG_USEC for this process: send WATCHDOG=1 now and then every half
  /// interval from a timer on the io_context, so a stuck event loop stops the pings.
  void start_watchdog();
  void stop_watchdog();

 private:
  bool send(const std::string& state);
  void arm_watchdog();

  boost::asio::steady_timer timer_;
  bool enabled_ = false;
  bool watchdog_running_ = false;
  std::chrono::microseconds watchdog_{0};
};

}  // namespace pg::obs
