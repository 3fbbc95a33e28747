#include <utility>  // Asio + C++20 needs it before Asio

#include "server.hpp"

#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <vector>

#include "session.hpp"
#include "world.hpp"

namespace pie_sim {

namespace net = boost::asio;
using net::ip::tcp;

namespace {

/// --tls-cert/--tls-key: a TLS 1.2+ server context; errors name the file and OpenSSL's reason.
pg::Result<std::shared_ptr<net::ssl::context>> make_tls_context(const std::string& cert, const std::string& key) {
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_compression |
                   net::ssl::context::single_dh_use);
  ctx->set_password_callback([](std::size_t, net::ssl::context::password_purpose) { return std::string(); });
  boost::system::error_code ec;
  if (ctx->use_certificate_chain_file(cert, ec); ec) return pg::make_error("--tls-cert " + cert + ": " + ec.message());
  if (ctx->use_private_key_file(key, net::ssl::context::pem, ec); ec)
    return pg::make_error("--tls-key " + key + ": " + ec.message() + " (an unencrypted PEM key is needed)");
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    return pg::make_error("--tls-key " + key + " does not match --tls-cert " + cert);
  return ctx;
}

}  // namespace

pg::Result<std::unique_ptr<Server>> Server::create(net::io_context& io, SimConfig config) {
  auth::AuthorizedUsers users;
  if (config.auth == AuthMode::Keys) {
    auto loaded = auth::AuthorizedUsers::load_file(config.authorized_users_file);
    if (!loaded) return pg::make_error(loaded.error());
    users = std::move(loaded).value();
  }
  std::shared_ptr<net::ssl::context> tls;
  if (!config.tls_cert.empty()) {
    auto ctx = make_tls_context(config.tls_cert, config.tls_key);
    if (!ctx) return pg::make_error(ctx.error());
    tls = std::move(ctx).value();
  }
  boost::system::error_code ec;
  const auto address = net::ip::make_address(config.host, ec);
  if (ec) return pg::make_error("invalid --host '" + config.host + "': " + ec.message());
  const tcp::endpoint endpoint(address, config.port);

  auto world = std::make_shared<World>(io.get_executor(), std::move(config), std::move(users));
  if (tls) spdlog::info("serving wss:// (TLS) with certificate {}", world->config.tls_cert);
  world->tls = std::move(tls);
  std::unique_ptr<Server> server(new Server(io, world));
  auto& a = server->acceptor_;
  if (a.open(endpoint.protocol(), ec); ec) return pg::make_error("open: " + ec.message());
  if (a.set_option(net::socket_base::reuse_address(true), ec); ec) return pg::make_error("reuse_address: " + ec.message());
  if (a.bind(endpoint, ec); ec) return pg::make_error("bind " + endpoint.address().to_string() + ":" +
                                                       std::to_string(endpoint.port()) + ": " + ec.message());
  if (a.listen(net::socket_base::max_listen_connections, ec); ec) return pg::make_error("listen: " + ec.message());
  return server;
}

Server::Server(net::io_context& io, std::shared_ptr<World> world)
    : io_(io), acceptor_(io), world_(std::move(world)) {}

Server::~Server() { stop(); }

std::uint16_t Server::port() const {
  boost::system::error_code ec;
  auto ep = acceptor_.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void Server::start() { do_accept(); }

void Server::do_accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (world_->stopping) return;
    if (ec) {
      spdlog::warn("accept failed: {}", ec.message());
    } else {
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      start_session(std::move(socket), world_);
    }
    do_accept();
  });
}

void Server::stop() {
  if (world_->stopping) return;
  world_->stopping = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  std::vector<std::shared_ptr<SessionHandle>> sessions;
  for (auto& [id, s] : world_->sessions) sessions.push_back(s);
  for (auto& s : sessions) s->shutdown();
  world_->sessions.clear();
  world_->instances.clear();
  world_->processes.clear();
}

}  // namespace pie_sim
