// The only translation unit that instantiates Beast's HTTP machinery for the gateway.
#include "http/server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <strings.h>

#include <unordered_set>

namespace pg::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

std::string_view find_header(const Headers& h, std::string_view name) {
  for (const auto& [k, v] : h)
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  return {};
}

namespace {
class Connection;
}

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& io, config::ListenAddress a, config::Limits l, Handler& h)
      : io(io), acceptor(io), addr(std::move(a)), limits(l), handler(h) {}
  asio::io_context& io;
  tcp::acceptor acceptor;
  config::ListenAddress addr;
  config::Limits limits;
  Handler& handler;
  bool stopping = false;
  std::unordered_set<Connection*> connections;

  void accept();
};

namespace {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<Server::Impl> server)
      : stream_(std::move(socket)), server_(std::move(server)) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    stream_.socket().set_option(tcp::no_delay(true), ec);
  }
  ~Connection() { server_->connections.erase(this); }

  void start() {
    server_->connections.insert(this);
    read();
  }

  bool busy() const { return busy_; }

  /// Close now if idle; otherwise after the response in progress.
  void shutdown() {
    close_after_response_ = true;
    if (!busy_) {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      stream_.close();
    }
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(server_->limits.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(server_->limits.max_header_bytes));
    // Idle keep-alive wait and the request itself share one deadline; a slow client is cut off.
    stream_.expires_after(first_request_ ? server_->limits.read_timeout : server_->limits.idle_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    first_request_ = false;
    if (ec) spdlog::debug("http {}: read ended: {}", remote_, ec.message());
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
      return close();
    }
    if (ec) {
      int status = 400;
      std::string type = "BadRequest";
      if (ec == bhttp::error::body_limit) status = 413, type = "PayloadTooLarge";
      else if (ec == bhttp::error::header_limit) status = 431, type = "HeadersTooLarge";
      // Nothing sensible can follow a broken request on this connection: answer and close.
      auto resp = server_->handler.transport_error(status, type, "malformed HTTP request: " + ec.message());
      resp.close = true;
      return send(std::move(resp), 11);
    }
    auto& msg = parser_->get();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    req.headers.reserve(8);
    for (const auto& f : msg) req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    req.body = std::move(msg.body());
    req.remote = remote_;
    keep_alive_ = msg.keep_alive();
    unsigned version = msg.version();
    busy_ = true;
    server_->handler.handle(std::move(req), [self = shared_from_this(), version, answered = false](Response r) mutable {
      if (answered) return;  // exactly once, even if a handler slips
      answered = true;
      self->send(std::move(r), version);
    });
  }

  void send(Response r, unsigned version) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(r.status), version);
    res->set(bhttp::field::server, "pie-gateway");
    if (!r.content_type.empty()) res->set(bhttp::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->insert(k, v);
    res->body() = std::move(r.body);
    bool close = r.close || !keep_alive_ || close_after_response_ || server_->stopping;
    res->keep_alive(!close);
    res->prepare_payload();
    busy_ = true;
    stream_.expires_after(server_->limits.read_timeout);
    bhttp::async_write(stream_, *res, [self = shared_from_this(), res, close](beast::error_code ec, std::size_t) {
      self->busy_ = false;
      if (ec || close) return self->close();
      self->read();
    });
  }

  void close() {
    busy_ = false;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<Server::Impl> server_;
  std::string remote_;
  bool keep_alive_ = true;
  bool busy_ = false;
  bool first_request_ = true;
  bool close_after_response_ = false;
};

}  // namespace

void Server::Impl::accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || self->stopping) return;
      spdlog::warn("http accept failed: {}", ec.message());
      // Out of file descriptors and similar: back off briefly instead of spinning.
      auto t = std::make_shared<asio::steady_timer>(self->io, std::chrono::milliseconds(50));
      t->async_wait([self, t](beast::error_code) { self->accept(); });
      return;
    }
    if (self->connections.size() >= self->limits.max_connections) {
      spdlog::warn("http connection refused: {} connections open (limits.max_connections)", self->connections.size());
      beast::error_code ignore;
      socket.close(ignore);
    } else {
      std::make_shared<Connection>(std::move(socket), self)->start();
    }
    self->accept();
  });
}

Server::Server(asio::io_context& io, config::ListenAddress addr, config::Limits limits, Handler& handler)
    : impl_(std::make_shared<Impl>(io, std::move(addr), limits, handler)) {}

Server::~Server() { stop(); }

Result<std::uint16_t> Server::start() {
  beast::error_code ec;
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
  beast::error_code ec;
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

}  // namespace pg::http
