// The pie-sim server: a TCP acceptor that hands each connection to a session.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "common/result.hpp"
#include "config.hpp"

namespace pie_sim {

struct World;

class Server {
 public:
  /// Binds and listens (port 0 = any free port); errors say why.
  static pg::Result<std::unique_ptr<Server>> create(boost::asio::io_context& io, SimConfig config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const;
  void start();
  /// Stops accepting, closes every session and stops every instance; io.run() then returns.
  void stop();

 private:
  Server(boost::asio::io_context& io, std::shared_ptr<World> world);
  void do_accept();

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<World> world_;
};

}  // namespace pie_sim
