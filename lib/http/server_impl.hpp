// Internal to lib/http: the server's shared state and the connection interface. Only
// connection.cpp instantiates Beast's HTTP machinery; server.cpp needs just the acceptor.
#pragma once

#include <memory>
#include <unordered_set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "common/result.hpp"
#include "config/model.hpp"
#include "http/hosts.hpp"
#include "http/message.hpp"
#include "http/server.hpp"

namespace pg::tls {
struct Material;
}

namespace pg::http {

namespace detail {

/// Asio's server-side SSL context built from the configured material (io_tls.cpp).
struct TlsContext;
Result<std::shared_ptr<TlsContext>> make_tls_context(const tls::Material& material);

class Connection {
 public:
  virtual ~Connection() = default;
  virtual void start() = 0;
  /// Close now if idle; otherwise after the response in progress (a stream is told to stop).
  virtual void shutdown() = 0;
  virtual bool busy() const = 0;
};

std::shared_ptr<Connection> make_connection(boost::asio::ip::tcp::socket socket, std::shared_ptr<Server::Impl> server);

}  // namespace detail

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(boost::asio::io_context& io, config::ListenAddress a, config::Limits l, Handler& h)
      : io(io), acceptor(io), addr(std::move(a)), limits(l), allowed_hosts(AllowedHosts::defaults(addr.host)), handler(h) {}
  boost::asio::io_context& io;
  boost::asio::ip::tcp::acceptor acceptor;
  config::ListenAddress addr;
  config::Limits limits;
  AllowedHosts allowed_hosts;  // the defaults for `addr` until set_allowed_hosts()
  Handler& handler;
  bool stopping = false;
  std::unordered_set<detail::Connection*> connections;
  /// HTTPS: the context new connections use (null = plain HTTP); open ones keep theirs.
  std::shared_ptr<detail::TlsContext> tls;

  void accept();
};

}  // namespace pg::http
