// The only translation unit that instantiates Beast's HTTP machinery for the gateway: one
// connection's requests and responses, plain or streamed (chunked), keep-alive and timeouts.
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <optional>

#include "http/server_impl.hpp"

namespace pg::http::detail {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxPipelined = 64 * 1024;  // bytes a client may send ahead while its answer is pending

class StreamImpl;

class Conn final : public Connection, public std::enable_shared_from_this<Conn> {
 public:
  Conn(tcp::socket socket, std::shared_ptr<Server::Impl> server)
      : stream_(std::move(socket)), server_(std::move(server)), heartbeat_timer_(stream_.get_executor()) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    stream_.socket().set_option(tcp::no_delay(true), ec);
  }
  ~Conn() override { server_->connections.erase(this); }

  void start() override {
    server_->connections.insert(this);
    read();
  }
  bool busy() const override { return phase_ == Phase::Handling || phase_ == Phase::Writing || phase_ == Phase::Streaming; }
  void shutdown() override;

  // The streamed response (see StreamImpl).
  void stream_write(std::string data, std::function<void()> written, bool framed = true);
  void stream_end();
  void stream_heartbeat(std::chrono::milliseconds every, std::string bytes);
  bool stream_over() const { return phase_ != Phase::Streaming || ending_; }
  bool stopping() const { return close_after_response_ || server_->stopping; }

 private:
  enum class Phase { Reading, Handling, Writing, Streaming, Closed };

  void read();
  void on_read(beast::error_code ec);
  void send(Response r, unsigned version);
  void start_stream(Response r, unsigned version);
  void write_next();
  void finish_stream(bool complete);
  void next_request();
  void arm_heartbeat();
  // Watching for the client going away while its request is handled or streamed.
  void add_gone(std::uint64_t exchange, std::function<void()> fn);
  void watch();
  void on_watch(beast::error_code ec, std::size_t n);
  void client_gone();
  void close();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<Server::Impl> server_;
  std::string remote_;
  Phase phase_ = Phase::Reading;
  bool keep_alive_ = true;
  bool first_request_ = true;
  bool close_after_response_ = false;
  std::uint64_t exchange_ = 0;  // the request being answered; late callbacks of earlier ones are ignored
  std::vector<std::function<void()>> gone_fns_;
  bool watching_ = false;
  std::function<void()> after_watch_;  // set when the watch read is cancelled on purpose
  // Streaming.
  std::weak_ptr<StreamImpl> stream_handle_;
  bool chunked_ = true, close_at_end_ = false, ending_ = false, writing_ = false;
  std::deque<std::pair<std::string, std::function<void()>>> out_;
  std::string out_buf_;
  std::vector<std::function<void()>> out_written_;
  asio::steady_timer heartbeat_timer_;
  std::chrono::milliseconds heartbeat_every_{0};
  std::string heartbeat_bytes_;
  Clock::time_point last_write_{};

  friend class StreamImpl;
};

class StreamImpl final : public Stream {
 public:
  explicit StreamImpl(std::shared_ptr<Conn> c) : conn_(std::move(c)) {}
  ~StreamImpl() override {
    if (conn_) conn_->stream_end();  // dropped without end()
  }
  void write(std::string data, std::function<void()> written) override {
    if (conn_) conn_->stream_write(std::move(data), std::move(written));
  }
  void end() override {
    if (conn_) conn_->stream_end();
  }
  void heartbeat(std::chrono::milliseconds every, std::string bytes) override {
    if (conn_) conn_->stream_heartbeat(every, std::move(bytes));
  }
  void on_done(std::function<void(bool)> fn) override {
    if (done_) return asio::post(executor_, [fn = std::move(fn), ok = complete_] { fn(ok); });
    done_fns_.push_back(std::move(fn));
  }
  void on_stop(std::function<void()> fn) override { stop_fn_ = std::move(fn); }
  bool closed() const override { return done_ || !conn_ || conn_->stream_over(); }

  /// The server is stopping: the owner's stop handler (once), or end the stream.
  void stop() {
    if (done_ || stop_requested_) return;
    stop_requested_ = true;
    if (!stop_fn_) return end();
    asio::post(executor_, stop_fn_);
  }
  /// The connection is done with this stream.
  void finished(bool complete) {
    if (done_) return;
    done_ = true;
    complete_ = complete;
    conn_.reset();  // breaks the connection <-> stream cycle
    auto fns = std::move(done_fns_);
    done_fns_.clear();
    stop_fn_ = nullptr;
    for (auto& f : fns) f(complete);
  }
  asio::any_io_executor executor_;

 private:
  std::shared_ptr<Conn> conn_;
  bool done_ = false, complete_ = false, stop_requested_ = false;
  std::vector<std::function<void(bool)>> done_fns_;
  std::function<void()> stop_fn_;
};

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
  parser_.emplace();
  parser_->body_limit(server_->limits.max_body_bytes);
  parser_->header_limit(static_cast<std::uint32_t>(server_->limits.max_header_bytes));
  // Idle keep-alive wait and the request itself share one deadline; a slow client is cut off.
  stream_.expires_after(first_request_ ? server_->limits.read_timeout : server_->limits.idle_timeout);
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
}

void Conn::on_read(beast::error_code ec) {
  first_request_ = false;
  if (ec) spdlog::debug("http {}: read ended: {}", remote_, ec.message());
  if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted || ec == beast::error::timeout ||
      ec == asio::error::connection_reset || ec == asio::error::eof) {
    return close();
  }
  phase_ = Phase::Handling;
  if (ec) {
    int status = 400;
    std::string type = "BadRequest";
    if (ec == bhttp::error::body_limit) status = 413, type = "PayloadTooLarge";
    else if (ec == bhttp::error::header_limit) status = 431, type = "HeadersTooLarge";
    // Nothing sensible can follow a broken request on this connection: answer and close.
    auto resp = server_->handler.transport_error(status, type, "malformed HTTP request: " + ec.message());
    resp.close = true;
    resp.stream = nullptr;
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
  req.on_client_gone = [weak = weak_from_this(), ex = exchange_](std::function<void()> fn) {
    if (auto self = weak.lock()) self->add_gone(ex, std::move(fn));
  };
  keep_alive_ = msg.keep_alive();
  unsigned version = msg.version();
  server_->handler.handle(std::move(req), [self = shared_from_this(), version, ex = exchange_](Response r) mutable {
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
  stream_.expires_after(server_->limits.read_timeout);
  bhttp::async_write(stream_, *res, [self = shared_from_this(), res, close](beast::error_code ec, std::size_t) {
    if (self->phase_ != Phase::Writing) return;
    if (ec || close) return self->close();
    self->next_request();
  });
}

void Conn::next_request() {
  // The watch read (if any) must give the socket back before the next request is parsed.
  if (!watching_) return read();
  after_watch_ = [this] { read(); };
  beast::error_code ec;
  stream_.socket().cancel(ec);
}

void Conn::start_stream(Response r, unsigned version) {
  phase_ = Phase::Streaming;
  chunked_ = version >= 11;  // HTTP/1.0: the body ends when the connection closes
  close_at_end_ = r.close || !keep_alive_ || stopping() || !chunked_;
  ending_ = writing_ = false;
  std::string head = "HTTP/1." + std::to_string(version % 10) + " " + std::to_string(r.status) + " " +
                     std::string(bhttp::obsolete_reason(static_cast<bhttp::status>(r.status))) +
                     "\r\nServer: pie-gateway\r\n";
  if (!r.content_type.empty()) head += "Content-Type: " + r.content_type + "\r\n";
  for (const auto& [k, v] : r.headers) head += k + ": " + v + "\r\n";
  if (chunked_) head += "Transfer-Encoding: chunked\r\n";
  if (close_at_end_ && version >= 11) head += "Connection: close\r\n";
  if (!close_at_end_ && version < 11) head += "Connection: keep-alive\r\n";
  head += "\r\n";
  auto s = std::make_shared<StreamImpl>(shared_from_this());
  s->executor_ = stream_.get_executor();
  stream_handle_ = s;
  last_write_ = Clock::now();
  stream_write(std::move(head), {}, false);
  watch();  // a stream must learn when its reader leaves
  auto begin = std::move(r.stream);
  begin(s);  // the owner registers on_stop in there
  if (stopping()) s->stop();
}

void Conn::stream_write(std::string data, std::function<void()> written, bool framed) {
  if (phase_ != Phase::Streaming || ending_ || data.empty()) return;  // an empty chunk would end the body
  if (framed && chunked_) {
    char size[20];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    data.insert(0, size, static_cast<std::size_t>(n));
    data += "\r\n";
  }
  out_.emplace_back(std::move(data), std::move(written));
  write_next();
}

void Conn::stream_end() {
  if (phase_ != Phase::Streaming || ending_) return;
  if (chunked_) out_.emplace_back("0\r\n\r\n", nullptr);
  ending_ = true;
  if (out_.empty() && !writing_) return finish_stream(true);
  write_next();
}

void Conn::write_next() {
  if (writing_ || out_.empty() || phase_ != Phase::Streaming) return;
  // Whatever is queued goes out in one write.
  out_buf_.clear();
  out_written_.clear();
  for (auto& [bytes, fn] : out_) {
    out_buf_ += bytes;
    if (fn) out_written_.push_back(std::move(fn));
  }
  out_.clear();
  writing_ = true;
  stream_.expires_after(server_->limits.read_timeout);  // a reader that stops reading is cut off
  asio::async_write(stream_, asio::buffer(out_buf_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->writing_ = false;
    if (self->phase_ != Phase::Streaming) return;
    if (ec) return self->client_gone();
    self->last_write_ = Clock::now();
    auto fns = std::move(self->out_written_);
    self->out_written_.clear();
    for (auto& f : fns) f();
    if (self->phase_ != Phase::Streaming) return;
    if (self->out_.empty() && self->ending_) return self->finish_stream(true);
    self->write_next();
  });
}

void Conn::stream_heartbeat(std::chrono::milliseconds every, std::string bytes) {
  if (phase_ != Phase::Streaming || every.count() <= 0) return;
  heartbeat_every_ = every;
  heartbeat_bytes_ = std::move(bytes);
  arm_heartbeat();
}

void Conn::arm_heartbeat() {
  heartbeat_timer_.expires_at(std::max(last_write_, Clock::now() - heartbeat_every_) + heartbeat_every_);
  heartbeat_timer_.async_wait([self = shared_from_this(), ex = exchange_](beast::error_code ec) {
    if (ec || ex != self->exchange_ || self->stream_over()) return;
    if (Clock::now() - self->last_write_ >= self->heartbeat_every_ && !self->writing_ && self->out_.empty())
      self->stream_write(self->heartbeat_bytes_, {});
    self->arm_heartbeat();
  });
}

void Conn::finish_stream(bool complete) {
  if (phase_ != Phase::Streaming) return;
  auto self = shared_from_this();  // the stream handle may hold the last reference
  auto handle = stream_handle_.lock();
  stream_handle_.reset();
  out_.clear();
  heartbeat_timer_.cancel();
  phase_ = complete ? Phase::Writing : Phase::Closed;
  if (handle) handle->finished(complete);
  if (!complete || close_at_end_ || stopping()) return close();
  if (phase_ == Phase::Writing) next_request();
}

void Conn::add_gone(std::uint64_t exchange, std::function<void()> fn) {
  if (exchange != exchange_ || (phase_ != Phase::Handling && phase_ != Phase::Streaming)) return;
  gone_fns_.push_back(std::move(fn));
  watch();
}

void Conn::watch() {
  if (watching_) return;
  watching_ = true;
  // On the socket itself (not through tcp_stream): no timeout, and writes keep theirs.
  stream_.socket().async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    self->on_watch(ec, n);
  });
}

void Conn::on_watch(beast::error_code ec, std::size_t n) {
  watching_ = false;
  buffer_.commit(n);  // a pipelined next request: kept for the parser
  if (after_watch_) {
    auto then = std::move(after_watch_);
    after_watch_ = nullptr;
    return then();
  }
  if (phase_ != Phase::Handling && phase_ != Phase::Streaming) return;
  if (!ec && n > 0) {
    if (buffer_.size() < kMaxPipelined) watch();
    return;
  }
  client_gone();
}

void Conn::client_gone() {
  if (phase_ == Phase::Closed) return;
  auto self = shared_from_this();
  spdlog::debug("http {}: client went away before its response was complete", remote_);
  auto fns = std::move(gone_fns_);
  gone_fns_.clear();
  // Closed first, so that an answer the callbacks cause is dropped rather than written.
  if (phase_ == Phase::Streaming) finish_stream(false);
  else close();
  for (auto& f : fns) f();
}

void Conn::close() {
  phase_ = Phase::Closed;
  heartbeat_timer_.cancel();
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.close();
}

}  // namespace

std::shared_ptr<Connection> make_connection(tcp::socket socket, std::shared_ptr<Server::Impl> server) {
  return std::make_shared<Conn>(std::move(socket), std::move(server));
}

}  // namespace pg::http::detail
