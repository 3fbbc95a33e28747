// Internal to lib/http: one connection (Conn) and its streamed response (StreamImpl). Its
// requests and plain responses are in connection.cpp, streamed bodies and the watch for a client
// going away in stream.cpp; the bytes travel through an Io (io.hpp: plain TCP or TLS), which
// instantiates Beast's reads and writes for its stream type.
#pragma once

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <deque>
#include <optional>

#include "http/framing.hpp"
#include "http/io.hpp"
#include "http/server_impl.hpp"

namespace pg::http::detail {

using Clock = std::chrono::steady_clock;

inline constexpr std::size_t kMaxPipelined = 64 * 1024;  // bytes a client may send ahead while its answer is pending
inline constexpr std::size_t kFirstRead = 4096;           // the first read of a keep-alive connection's next request
// After refusing a request, the rest of it is read and dropped for this long (or this much), so
// that closing does not reset the connection before the client has read the answer.
inline constexpr std::chrono::seconds kLingerTime{2};
inline constexpr std::size_t kLingerBytes = 4 << 20;

class StreamImpl;

class Conn final : public Connection, public std::enable_shared_from_this<Conn> {
 public:
  Conn(std::shared_ptr<Io> io, std::shared_ptr<Server::Impl> server)
      : io_(std::move(io)), server_(std::move(server)), heartbeat_timer_(io_->executor()) {
    beast::error_code ec;
    auto ep = io_->socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    io_->socket().set_option(tcp::no_delay(true), ec);
  }
  ~Conn() override { server_->connections.erase(this); }

  void start() override;
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

  void started(Io::Start how);
  void read();
  void read_head();
  void on_head(beast::error_code ec);
  void read_body();
  void on_request();
  void read_failed(beast::error_code ec);
  void refuse(Refusal why);
  void send(Response r, unsigned version);
  void start_stream(Response r, unsigned version);
  void write_next();
  void finish_stream(bool complete, bool reusable);
  void next_request();
  void arm_heartbeat();
  // Watching for the client going away while its request is handled or streamed.
  void add_gone(std::uint64_t exchange, std::function<void()> fn);
  void watch();
  void on_watch(beast::error_code ec, std::size_t n);
  void client_gone();
  void close();
  void close_lingering();
  void drain(std::size_t left);

  std::shared_ptr<Io> io_;
  beast::flat_buffer buffer_;
  const std::size_t buffer_max_ = buffer_.max_size();  // bounded only while a body is read
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request req_;             // the request whose body is being read
  unsigned version_ = 11;   // its HTTP/1.x
  bool head_ = false;       // it is a HEAD: its answer goes without a body
  std::size_t body_wire_ = 0;  // bytes of its body read so far, chunk framing and trailers included
  bool linger_ = false;     // refused: close_lingering() once the answer is out
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

}  // namespace pg::http::detail
