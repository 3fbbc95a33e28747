// The whole gateway wired together on one io_context: cluster, jobs, endpoints, front doors.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "common/result.hpp"
#include "config/model.hpp"

namespace pg::app {

class Gateway {
 public:
  Gateway(boost::asio::io_context& io, config::Config cfg);
  ~Gateway();

  /// Bind listeners and start connecting to Pie; returns the bound HTTP port.
  Result<std::uint16_t> start();
  /// The bound admin port (listen.admin), or 0 when there is none.
  std::uint16_t admin_port() const;
  /// The bound gRPC port (listen.grpc), or 0 when gRPC is off.
  std::uint16_t grpc_port() const;
  /// Stop at once: stop accepting, close sessions.
  void stop();

  /// Graceful stop (SIGTERM): stop accepting; in-flight sync calls may finish within
  /// `drain_timeout`; what is left then is answered 503 and everything is closed; `done` runs once
  /// on the io thread when the gateway can exit.
  void shutdown(std::chrono::milliseconds drain_timeout, std::function<void()> done);
  /// Apply a new, already validated configuration (SIGHUP) without dropping in-flight calls
  /// or jobs: endpoints, limits of new jobs and Pie servers are swapped. The listen address
  /// cannot change at run time (an error says so; the old configuration stays).
  Result<bool> reload(config::Config cfg);
  /// A one-line summary for logs and systemd STATUS= ("12 endpoints, 2/3 Pie servers healthy, 5 jobs running").
  std::string status_line() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The configuration compiled into the binary (config/gateway.yaml at build time).
const char* embedded_default_config();

}  // namespace pg::app
