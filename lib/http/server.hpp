// An HTTP/1.1 server (Boost.Beast), plain or HTTPS: keep-alive, bounded headers and bodies,
// timeouts. All I/O runs on the given io_context; handlers answer asynchronously through a Responder.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/result.hpp"
#include "config/model.hpp"
#include "http/message.hpp"

namespace pg::tls {
struct Material;
}

namespace pg::http {

class Server {
 public:
  Server(boost::asio::io_context& io, config::ListenAddress addr, config::Limits limits, Handler& handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Bind and start accepting; returns the bound port (useful when configured as 0).
  Result<std::uint16_t> start();
  /// Stop accepting new connections; open ones finish their current exchange and close.
  void stop();
  std::size_t open_connections() const;
  /// Connections with a request in progress (being handled or answered).
  std::size_t busy_connections() const;
  /// New limits for requests read from now on (reload).
  void set_limits(config::Limits limits);
  /// `listen.allowed_hosts` (absent: the defaults for this listener's address, http/hosts.hpp);
  /// requests with another Host are answered 421. Entries are checked by the config loader.
  void set_allowed_hosts(const std::optional<std::vector<std::string>>& hosts);
  /// HTTPS only, with this certificate, key and client CA bundle (tls/material.hpp). Before
  /// start() it turns TLS on; later calls (reload) change what new connections get, open ones
  /// keep theirs. An error (the material does not fit OpenSSL) changes nothing.
  Result<bool> set_tls(const tls::Material& material);
  bool tls() const;

  struct Impl;  // public so that connections (in server.cpp) can hold it

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace pg::http
