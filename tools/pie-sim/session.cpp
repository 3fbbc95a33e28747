// Beast-heavy translation unit: the WebSocket side of a session. Callback style, one read and
// at most one write outstanding, a write queue, everything on the server's single io thread.
#include <utility>  // Asio + C++20 needs it before Beast

#include "session.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <spdlog/spdlog.h>

#include <deque>

#include "conversation.hpp"
#include "pie/v02/codec.hpp"
#include "world.hpp"

namespace pie_sim {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace v02 = pg::pie::v02;
using boost::system::error_code;

namespace {

/// More unsent bytes than this for one session and it is closed.
constexpr std::size_t kMaxQueuedBytes = 256 * 1024 * 1024;

class Session final : public Link, public SessionHandle, public std::enable_shared_from_this<Session> {
 public:
  Session(net::ip::tcp::socket socket, std::shared_ptr<World> world, std::uint64_t id)
      : ws_(std::move(socket)), world_(std::move(world)), id_(id), conv_(*world_, *this), timer_(world_->ex) {}

  void run() {
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(30);
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws_.set_option(t);
    ws_.read_message_max(v02::kMaxFrameBytes);
    ws_.auto_fragment(false);  // one message = one frame, as Pie sends them
    ws_.binary(true);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "pie-sim"); }));
    ws_.async_accept([self = shared_from_this()](error_code ec) { self->on_accept(ec); });
  }

  // ---- Link / Peer ----
  void send(const v02::ServerMessage& m) override {
    if (closed_ || ending_ || stalled_ || draining_) return;
    if (world_->config.verbose) spdlog::debug("session {} -> {}", id_, v02::type_name(m));
    queue_.push_back(v02::encode(m));
    queued_bytes_ += queue_.back().size();
    if (queued_bytes_ > kMaxQueuedBytes) {  // the client does not read: give up on it
      spdlog::warn("session {}: {} bytes queued for a client that does not read; closing", id_, queued_bytes_);
      return shutdown();
    }
    if (!writing_) do_write();
  }
  void resume() override {
    if (closed_) return;
    const auto stall = world_->config.stall_after;
    if (stall >= 0 && received_ >= static_cast<std::uint64_t>(stall)) {
      spdlog::info("session {}: stalled after {} messages (fault injection)", id_, received_);
      stalled_ = true;  // keep the socket open, read and answer nothing more
      return;
    }
    do_read();
  }
  void end() override {
    if (closed_ || ending_) return;
    ending_ = true;
    if (!writing_) start_close();
  }
  std::shared_ptr<Peer> self() override { return shared_from_this(); }

  // ---- SessionHandle ----
  void shutdown() override {
    auto keep = shared_from_this();
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    finish();
  }

 private:
  void on_accept(error_code ec) {
    if (ec) {
      spdlog::debug("session {}: handshake failed: {}", id_, ec.message());
      return finish();
    }
    spdlog::debug("session {}: connected", id_);
    if (world_->config.drop_after == 0) return shutdown();
    resume();
  }

  void do_read() {
    ws_.async_read(buffer_, [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (closed_) return;
    if (ec) {
      if (ec != websocket::error::closed && ec != net::error::eof && ec != net::error::operation_aborted)
        spdlog::info("session {}: read ended: {}", id_, ec.message());
      return finish();
    }
    if (!ws_.got_binary()) {  // text frames are ignored
      buffer_.consume(buffer_.size());
      return do_read();
    }
    ++received_;
    std::string bytes = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    auto msg = v02::decode_client(bytes);
    if (!msg) {
      spdlog::warn("session {}: dropped undecodable message ({} bytes): {}", id_, bytes.size(), msg.error());
      return resume();
    }
    if (world_->config.verbose) spdlog::debug("session {} <- {}", id_, v02::type_name(*msg));
    const auto delay = world_->config.reply_delay_ms;
    if (delay == 0) return conv_.handle(std::move(msg).value());
    timer_.expires_after(std::chrono::milliseconds(delay));
    timer_.async_wait([self = shared_from_this(), m = std::move(msg).value()](error_code wec) mutable {
      if (!wec && !self->closed_) self->conv_.handle(std::move(m));
    });
  }

  void do_write() {
    writing_ = true;
    ws_.async_write(net::buffer(queue_.front()),
                    [self = shared_from_this()](error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(error_code ec) {
    writing_ = false;
    if (closed_) return;
    if (ec) {
      spdlog::info("session {}: write failed: {}", id_, ec.message());
      return finish();
    }
    queued_bytes_ -= queue_.front().size();
    queue_.pop_front();
    ++sent_;
    const auto drop = world_->config.drop_after;
    if (drop >= 0 && sent_ >= static_cast<std::uint64_t>(drop)) {
      if (world_->config.drop_flush && !queue_.empty()) {
        // Instances detach now (their output is buffered); what was already queued still goes out.
        if (!draining_) conv_.closed();
        draining_ = true;
        return do_write();
      }
      spdlog::info("session {}: dropping the connection after {} messages (fault injection)", id_, sent_);
      return shutdown();  // abrupt: no close frame
    }
    if (!queue_.empty()) return do_write();
    if (ending_) start_close();
  }

  void start_close() {
    timer_.cancel();
    timer_.expires_after(std::chrono::seconds(3));  // the peer may never answer our close frame
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->shutdown();
    });
    ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](error_code) { self->finish(); });
  }

  /// Once per session: the connection is gone for the protocol.
  void finish() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    conv_.closed();  // the queue stays: a write in flight may still use its front buffer
    auto keep = shared_from_this();
    world_->sessions.erase(id_);
    spdlog::debug("session {}: closed (received {}, sent {})", id_, received_, sent_);
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::shared_ptr<World> world_;
  std::uint64_t id_;
  Conversation conv_;
  net::steady_timer timer_;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t sent_ = 0;
  bool writing_ = false;
  bool ending_ = false;
  bool stalled_ = false;
  bool draining_ = false;  // --drop-flush: sending what was queued before the drop
  bool closed_ = false;
};

}  // namespace

void start_session(net::ip::tcp::socket socket, const std::shared_ptr<World>& world) {
  const auto id = world->next_session_id++;
  auto s = std::make_shared<Session>(std::move(socket), world, id);
  world->sessions.emplace(id, s);
  ++world->sessions_total;
  s->run();
}

}  // namespace pie_sim
