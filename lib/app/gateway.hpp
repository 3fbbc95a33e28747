// The whole gateway wired together on one io_context: cluster, jobs, endpoints, front doors.
#pragma once

#include <memory>

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
  /// Stop accepting, close sessions.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The configuration compiled into the binary (config/gateway.yaml at build time).
const char* embedded_default_config();

}  // namespace pg::app
