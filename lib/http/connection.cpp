// One HTTP connection's requests (RFC 9112 framing checks, Host, bounded heads and bodies, one
// deadline per request) and plain responses; keep-alive and closing; the TLS handshake (under
// read_timeout) before the first request. Streamed responses: stream.cpp.
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <spdlog/spdlog.h>

#include "http/conn.hpp"
#include "http/framing.hpp"

namespace pg::http::detail {

void Conn::start() {
  server_->connections.insert(this);
  io_->expires_after(server_->limits.read_timeout);  // the TLS handshake's deadline
  io_->start([self = shared_from_this()](Io::Start how) { self->started(how); });
}

void Conn::started(Io::Start how) {
  if (how == Io::Start::Ready) return read();
  phase_ = Phase::Closed;
  if (how == Io::Start::Failed) server_->handler.tls_handshake_failed();
  if (how != Io::Start::NotTls) return close();
  // Plain HTTP to an HTTPS address: a plain answer saying so, then close.
  auto r = server_->handler.transport_error(400, "BadRequest",
                                            "this address speaks HTTPS only: use https:// (the gateway's tls: section)");
  std::string bytes = "HTTP/1.1 400 Bad Request\r\nServer: pie-gateway\r\nConnection: close\r\n";
  if (!r.content_type.empty()) bytes += "Content-Type: " + r.content_type + "\r\n";
  for (const auto& [k, v] : r.headers) bytes += k + ": " + v + "\r\n";
  bytes += "Content-Length: " + std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
  io_->refuse_plain(std::move(bytes), [self = shared_from_this()] {});
}

void Conn::shutdown() {
  close_after_response_ = true;
  if (phase_ == Phase::Streaming) {
    if (auto s = stream_handle_.lock()) s->stop();
    else stream_end();
    return;
  }
  if (!busy()) close();
}

void Conn::read() {
  phase_ = Phase::Reading;
  ++exchange_;
  gone_fns_.clear();
  head_ = false;
  parser_.emplace();
  parser_->body_limit(server_->limits.max_body_bytes);
  parser_->header_limit(static_cast<std::uint32_t>(server_->limits.max_header_bytes));
  if (first_request_ || buffer_.size() > 0) return read_head();
  // Between requests: idle_timeout until the next one's first byte, then read_timeout for it.
  io_->expires_after(server_->limits.idle_timeout);
  io_->read_some(buffer_.prepare(kFirstRead), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    self->buffer_.commit(n);
    if (ec) return self->read_failed(ec);
    self->read_head();
  });
}

void Conn::read_head() {
  // One deadline for the whole request, head and body: a client dribbling bytes is cut off.
  // (The first request's deadline counts from the connection's start.)
  io_->expires_after(server_->limits.read_timeout);
  io_->read_header(buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_head(ec); });
}

void Conn::on_head(beast::error_code ec) {
  first_request_ = false;
  if (ec) return read_failed(ec);
  auto& msg = parser_->get();
  Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  req.headers.reserve(8);
  for (const auto& f : msg) req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  keep_alive_ = msg.keep_alive();
  version_ = msg.version();
  // Where the body ends must be certain, or a second request could hide in it (smuggling).
  if (auto bad = check_framing(version_ % 10, req.headers)) return refuse(std::move(*bad));
  auto target = split_target(req.target);
  if (!target) return refuse({400, "BadRequest", target.error()});
  req.path = std::move(target->path);
  req.query = std::move(target->query);
  if (!target->authority.empty())  // absolute form: its authority is the Host (RFC 9112 §3.2.2)
    for (auto& [k, v] : req.headers)
      if (beast::iequals(k, "Host")) v = target->authority;
  const auto host_value = req.header("Host");
  if (!host_value.empty() || version_ >= 11) {
    auto host = parse_host(host_value);
    if (!host) return refuse({400, "BadRequest", host.error()});
    if (!server_->allowed_hosts.allows(*host, server_->tls ? 443 : 80))
      return refuse({421, "MisdirectedRequest",
                     "this gateway does not answer for Host '" + std::string(host_value) +
                         "' (listen.allowed_hosts: " + server_->allowed_hosts.describe() + ")"});
  }
  if (req.method == "HEAD") req.method = "GET", req.head = head_ = true;
  req_ = std::move(req);
  body_wire_ = 0;
  parser_->eager(true);  // the body as far as it has arrived, in one go
  read_body();
}

void Conn::read_body() {
  // Every byte after the head counts against max_body_bytes, chunk sizes, extensions and
  // trailers too; the buffer may not grow past what is left (Beast then says buffer_overflow).
  const auto max = server_->limits.max_body_bytes;
  if (body_wire_ > max) return read_failed(bhttp::error::body_limit);
  if (parser_->is_done()) return on_request();
  buffer_.max_size(std::max(max - body_wire_, buffer_.size()));
  io_->read_some(buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    self->body_wire_ += n;
    if (ec) return self->read_failed(ec);
    self->read_body();
  });
}

void Conn::read_failed(beast::error_code ec) {
  first_request_ = false;
  spdlog::debug("http {}: read ended: {}", remote_, ec.message());
  if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted || ec == beast::error::timeout ||
      ec == asio::error::connection_reset || ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
      ec.category() == asio::error::get_ssl_category()) {  // TLS broken: nothing can be answered on it
    return close();
  }
  if (ec == bhttp::error::body_limit || ec == bhttp::error::buffer_overflow)
    return refuse({413, "PayloadTooLarge",
                   "the request body (chunk framing, extensions and trailers included) is larger than limits.max_body_bytes (" +
                       std::to_string(server_->limits.max_body_bytes) + " bytes)"});
  if (ec == bhttp::error::header_limit)
    return refuse({431, "HeadersTooLarge",
                   "the request line and headers are larger than limits.max_header_bytes (" +
                       std::to_string(server_->limits.max_header_bytes) + " bytes)"});
  refuse({400, "BadRequest", "malformed HTTP request: " + ec.message()});
}

void Conn::refuse(Refusal why) {
  // Nothing sensible can follow a refused request on this connection: answer and close.
  phase_ = Phase::Handling;
  buffer_.max_size(buffer_max_);
  auto resp = server_->handler.transport_error(why.status, why.type, why.message);
  resp.close = true;
  resp.stream = nullptr;
  linger_ = true;
  head_ = false;
  send(std::move(resp), 11);
}

void Conn::on_request() {
  buffer_.max_size(buffer_max_);
  phase_ = Phase::Handling;
  Request req = std::move(req_);
  req.body = std::move(parser_->get().body());  // trailers (in the parser's fields) are dropped
  req.remote = remote_;
  req.peer_cn = io_->peer_cn();
  req.on_client_gone = [weak = weak_from_this(), ex = exchange_](std::function<void()> fn) {
    if (auto self = weak.lock()) self->add_gone(ex, std::move(fn));
  };
  server_->handler.handle(std::move(req), [self = shared_from_this(), version = version_, ex = exchange_](Response r) mutable {
    // Exactly once per request, even if a handler slips.
    if (ex != self->exchange_ || self->phase_ != Phase::Handling) return;
    if (r.stream) return self->start_stream(std::move(r), version);
    self->send(std::move(r), version);
  });
}

void Conn::send(Response r, unsigned version) {
  if (phase_ != Phase::Handling) return close();  // the client went away meanwhile
  phase_ = Phase::Writing;
  auto res = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(r.status), version);
  res->set(bhttp::field::server, "pie-gateway");
  if (!r.content_type.empty()) res->set(bhttp::field::content_type, r.content_type);
  for (auto& [k, v] : r.headers) res->insert(k, v);
  res->body() = std::move(r.body);
  bool close = r.close || !keep_alive_ || stopping();
  res->keep_alive(!close);
  if (r.status >= 200 && r.status != 204 && r.status != 304) res->prepare_payload();  // those have no body, nor its length
  io_->expires_after(server_->limits.read_timeout);
  auto done = [self = shared_from_this(), res, close](beast::error_code ec) {
    if (self->phase_ != Phase::Writing) return;
    if (self->linger_ && !ec) return self->close_lingering();
    if (ec || close) return self->close();
    self->next_request();
  };
  if (!head_)
    return io_->write(*res, [done](beast::error_code ec, std::size_t) { done(ec); });
  // HEAD: the GET's status and headers (Content-Length included), no body.
  auto sr = std::make_shared<bhttp::response_serializer<bhttp::string_body>>(*res);
  io_->write_header(*sr, [done, sr](beast::error_code ec, std::size_t) { done(ec); });
}

void Conn::next_request() {
  // The watch read (if any) must give the socket back before the next request is parsed.
  if (!watching_) return read();
  after_watch_ = [this] { read(); };
  beast::error_code ec;
  io_->socket().cancel(ec);
}

void Conn::close() {
  phase_ = Phase::Closed;
  heartbeat_timer_.cancel();
  io_->close([self = shared_from_this()] {});  // counted among the connections until closed
}

void Conn::close_lingering() {
  phase_ = Phase::Closed;
  heartbeat_timer_.cancel();
  io_->end_output();  // plain TCP: the client sees the end of our answer
  buffer_.clear();
  io_->expires_after(kLingerTime);
  drain(kLingerBytes);
}

void Conn::drain(std::size_t left) {
  // Into the same (uncommitted) bytes each time: what is read is dropped.
  io_->read_some(buffer_.prepare(16384), [self = shared_from_this(), left](beast::error_code ec, std::size_t n) {
    if (ec || n >= left || !self->io_->is_open()) return self->io_->close([self] {});
    self->drain(left - n);
  });
}

std::shared_ptr<Connection> make_connection(tcp::socket socket, std::shared_ptr<Server::Impl> server) {
  auto io = server->tls ? make_tls_io(std::move(socket), server->tls) : make_plain_io(std::move(socket));
  return std::make_shared<Conn>(std::move(io), std::move(server));
}

}  // namespace pg::http::detail
