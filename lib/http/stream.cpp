// A connection's streamed responses (chunked, or until close on HTTP/1.0), their heartbeats,
// and the watch read that learns when a client goes away before its answer is complete.
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "http/conn.hpp"

namespace pg::http::detail {

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
  s->executor_ = io_->executor();
  stream_handle_ = s;
  last_write_ = Clock::now();
  stream_write(std::move(head), {}, false);
  if (head_) ending_ = true;  // HEAD: the head only; the stream ends once it is out, as if the client left
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
  if (out_.empty() && !writing_) return finish_stream(true, true);
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
  io_->expires_after(server_->limits.read_timeout);  // a reader that stops reading is cut off
  io_->write(asio::buffer(out_buf_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->writing_ = false;
    if (self->phase_ != Phase::Streaming) return;
    if (ec) return self->client_gone();
    self->last_write_ = Clock::now();
    auto fns = std::move(self->out_written_);
    self->out_written_.clear();
    for (auto& f : fns) f();
    if (self->phase_ != Phase::Streaming) return;
    if (self->out_.empty() && self->ending_) return self->finish_stream(!self->head_, true);
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

void Conn::finish_stream(bool complete, bool reusable) {
  if (phase_ != Phase::Streaming) return;
  auto self = shared_from_this();  // the stream handle may hold the last reference
  auto handle = stream_handle_.lock();
  stream_handle_.reset();
  out_.clear();
  heartbeat_timer_.cancel();
  phase_ = reusable ? Phase::Writing : Phase::Closed;
  if (handle) handle->finished(complete);
  if (!reusable || close_at_end_ || stopping()) return close();
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
  // No timeout, and writes keep theirs (Io::watch_read).
  io_->watch_read(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    self->on_watch(ec, n);
  });
}

void Conn::on_watch(beast::error_code ec, std::size_t n) {
  watching_ = false;
  buffer_.commit(n);  // a pipelined next request: kept for the parser
  if (after_watch_) {
    auto then = std::move(after_watch_);
    after_watch_ = nullptr;
    // The client closed (or broke) its side while its answer was being finished: the epoll
    // reactor has seen that EOF, so another read would wait for an edge that never comes.
    // A partial pipelined request behind it can never be completed: close now.
    if (ec && ec != asio::error::operation_aborted) return close();
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
  if (phase_ == Phase::Streaming) finish_stream(false, false);
  else close();
  for (auto& f : fns) f();
}

}  // namespace pg::http::detail
