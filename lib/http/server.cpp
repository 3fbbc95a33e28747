// The listening side of the HTTP server: accept, connection limits, stop. Connections (and
// every Beast HTTP type) live in connection.cpp.
#include "http/server.hpp"

#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <strings.h>

#include "http/server_impl.hpp"

namespace pg::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string_view find_header(const Headers& h, std::string_view name) {
  for (const auto& [k, v] : h)
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  return {};
}

void Server::Impl::accept() {
  acceptor.async_accept([self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || self->stopping) return;
      spdlog::warn("http accept failed: {}", ec.message());
      // Out of file descriptors and similar: back off briefly instead of spinning.
      auto t = std::make_shared<asio::steady_timer>(self->io, std::chrono::milliseconds(50));
      t->async_wait([self, t](boost::system::error_code) { self->accept(); });
      return;
    }
    if (self->connections.size() >= self->limits.max_connections) {
      spdlog::warn("http connection refused: {} connections open (limits.max_connections)", self->connections.size());
      boost::system::error_code ignore;
      socket.close(ignore);
    } else {
      detail::make_connection(std::move(socket), self)->start();
    }
    self->accept();
  });
}

Server::Server(asio::io_context& io, config::ListenAddress addr, config::Limits limits, Handler& handler)
    : impl_(std::make_shared<Impl>(io, std::move(addr), limits, handler)) {}

Server::~Server() { stop(); }

Result<std::uint16_t> Server::start() {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(impl_->addr.host, ec);
  if (ec) return make_error("listen address '" + impl_->addr.host + "' is not an IP address: " + ec.message());
  tcp::endpoint ep(address, impl_->addr.port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error("cannot listen on " + impl_->addr.host + ":" + std::to_string(impl_->addr.port) + ": " + ec.message());
  impl_->accept();
  return a.local_endpoint().port();
}

void Server::stop() {
  if (!impl_ || impl_->stopping) return;
  impl_->stopping = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
  auto conns = impl_->connections;  // shutdown() may erase
  for (auto* c : conns) c->shutdown();
}

std::size_t Server::open_connections() const { return impl_->connections.size(); }

std::size_t Server::busy_connections() const {
  std::size_t n = 0;
  for (auto* c : impl_->connections) n += c->busy() ? 1 : 0;
  return n;
}

void Server::set_limits(config::Limits limits) { impl_->limits = limits; }

Result<bool> Server::set_tls(const tls::Material& material) {
  auto ctx = detail::make_tls_context(material);
  if (!ctx) return make_error(ctx.error());
  impl_->tls = std::move(*ctx);
  return true;
}

bool Server::tls() const { return impl_->tls != nullptr; }

void Server::set_allowed_hosts(const std::optional<std::vector<std::string>>& hosts) {
  auto list = hosts ? AllowedHosts::from_list(*hosts) : Result<AllowedHosts>(AllowedHosts::defaults(impl_->addr.host));
  if (!list) {
    spdlog::error("listen.allowed_hosts: {}; every Host is refused", list.error());
    list = AllowedHosts::from_list({});
  }
  impl_->allowed_hosts = std::move(*list);
  spdlog::debug("http {}:{}: allowed Host values: {}", impl_->addr.host, impl_->addr.port, impl_->allowed_hosts.describe());
}

}  // namespace pg::http
