// Beast-heavy translation unit: the WebSocket side of a session. Callback style, one read and
// at most one write outstanding, a write queue, everything on the server's single io thread.
// ws:// or (--tls-cert) wss://: the TLS variant only adds the TLS handshake before the upgrade.
#include <utility>  // Asio + C++20 needs it before Beast

#include "session.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <optional>
#include <type_traits>

#include "conversation.hpp"
#include "conversation_v05.hpp"
#include "pie/v02/codec.hpp"
#include "pie/v05/codec.hpp"
#include "world.hpp"

namespace pie_sim {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace http = beast::http;
namespace v02 = pg::pie::v02;
namespace v05 = pg::pie::v05;
using boost::system::error_code;

namespace {

/// More unsent bytes than this for one session and it is closed.
constexpr std::size_t kMaxQueuedBytes = 256 * 1024 * 1024;

/// The 0.5 edge's handshake rule: `tenant/user` or bare `user`; the user part must not be empty.
bool valid_identity(std::string_view v) {
  const auto slash = v.find('/');
  const auto user = slash == std::string_view::npos ? v : v.substr(slash + 1);
  return user.find_first_not_of(" \t") != std::string_view::npos;
}

/// One WebSocket connection, in either protocol mode (World::config.protocol): the mode picks the
/// conversation (conversation.hpp for 0.2, conversation_v05.hpp for 0.5) and, for 0.5, the
/// edge's HTTP checks before the upgrade. Tls: over TLS (World::tls).
template <bool Tls>
class Session final : public Link, public Link05, public SessionHandle, public std::enable_shared_from_this<Session<Tls>> {
  using Next = std::conditional_t<Tls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;
  using std::enable_shared_from_this<Session<Tls>>::shared_from_this;

 public:
  Session(net::ip::tcp::socket socket, std::shared_ptr<World> world, std::uint64_t id)
      : ws_(make_stream(std::move(socket), *world)), world_(std::move(world)), id_(id),
        v05_(world_->config.protocol == ProtocolLine::V05), timer_(world_->ex) {
    if (v05_) conv05_.emplace(*world_, *this);
    else conv_.emplace(*world_, *this);
  }

  void run() {
    if constexpr (!Tls) {
      start_websocket();
    } else {
      beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(30));
      ws_.next_layer().async_handshake(net::ssl::stream_base::server, [self = shared_from_this()](error_code ec) {
        if (ec) {
          spdlog::info("session {}: TLS handshake failed: {}", self->id_, ec.message());
          return self->shutdown();
        }
        beast::get_lowest_layer(self->ws_).expires_never();
        SSL* ssl = self->ws_.next_layer().native_handle();
        const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        spdlog::info("session {}: {} (SNI {})", self->id_, SSL_get_version(ssl), sni ? sni : "none");
        self->start_websocket();
      });
    }
  }

  void start_websocket() {
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(30);
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws_.set_option(t);
    ws_.read_message_max(world_->config.max_frame_bytes);  // beyond it: close 1009, the session ends
    ws_.auto_fragment(false);  // one message = one frame, as Pie sends them
    ws_.binary(true);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "pie-sim"); }));
    if (!v05_) return ws_.async_accept([self = shared_from_this()](error_code ec) { self->on_accept(ec); });
    // 0.5 edge: read the upgrade request first and check its path and identity.
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(30));
    http::async_read(ws_.next_layer(), http_buffer_, upgrade_,
                     [self = shared_from_this()](error_code ec, std::size_t) { self->on_upgrade_request(ec); });
  }

  // ---- Link / Peer (0.2), Link05 / Peer05 (0.5) ----
  void send(const v02::ServerMessage& m) override {
    if (world_->config.verbose) spdlog::debug("session {} -> {}", id_, v02::type_name(m));
    queue_frame(v02::encode(m), false);
  }
  void send(const v05::ServerMessage& m) override {
    if (world_->config.verbose) spdlog::debug("session {} -> {}", id_, v05::type_name(m));
    queue_frame(v05::encode(m), false);
  }
  void send_text(std::string text) override {
    if (world_->config.verbose) spdlog::debug("session {} -> text {}", id_, text.substr(0, 200));
    queue_frame(std::move(text), true);
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
  std::shared_ptr<Peer05> self05() override { return shared_from_this(); }

  // ---- SessionHandle ----
  void shutdown() override {
    auto keep = shared_from_this();
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    finish();
  }

 private:
  static websocket::stream<Next> make_stream(net::ip::tcp::socket socket, World& world) {
    if constexpr (Tls) return websocket::stream<Next>(std::move(socket), *world.tls);
    else return websocket::stream<Next>(std::move(socket));
  }

  void queue_frame(std::string bytes, bool text) {
    if (closed_ || ending_ || stalled_ || draining_) return;
    queued_bytes_ += bytes.size();
    queue_.push_back(Frame{std::move(bytes), text});
    if (queued_bytes_ > kMaxQueuedBytes) {  // the client does not read: give up on it
      spdlog::warn("session {}: {} bytes queued for a client that does not read; closing", id_, queued_bytes_);
      return shutdown();
    }
    if (!writing_) do_write();
  }

  void on_upgrade_request(error_code ec) {
    if (ec) {
      spdlog::debug("session {}: no upgrade request: {}", id_, ec.message());
      return shutdown();
    }
    beast::get_lowest_layer(ws_).expires_never();  // the WebSocket timeouts take over
    const auto target = std::string_view(upgrade_.target().data(), upgrade_.target().size());
    const auto path = target.substr(0, target.find('?'));
    const auto identity = upgrade_["x-pie-identity"];
    if (path != "/v1/ws") return refuse(http::status::not_found, "not found: the 0.5 edge serves /v1/ws\n");
    if (!valid_identity(std::string_view(identity.data(), identity.size())))
      return refuse(http::status::unauthorized, "missing or empty x-pie-identity (tenant/user)\n");
    ws_.async_accept(upgrade_, [self = shared_from_this()](error_code aec) { self->on_accept(aec); });
  }

  /// Answers the upgrade request with an HTTP error, then closes (no WebSocket).
  void refuse(http::status status, std::string body) {
    spdlog::info("session {}: HTTP {} for {}", id_, static_cast<unsigned>(status), std::string(upgrade_.target()));
    auto res = std::make_shared<http::response<http::string_body>>(status, upgrade_.version());
    res->set(http::field::server, "pie-sim");
    res->set(http::field::content_type, "text/plain");
    res->keep_alive(false);
    res->body() = std::move(body);
    res->prepare_payload();
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(5));
    http::async_write(ws_.next_layer(), *res, [self = shared_from_this(), res](error_code, std::size_t) {
      self->shutdown();
    });
  }

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
      if (ec == websocket::error::message_too_big)
        spdlog::warn("session {}: dropping the connection: a message over --max-frame-bytes {}", id_,
                     world_->config.max_frame_bytes);
      else if (ec != websocket::error::closed && ec != net::error::eof && ec != net::error::operation_aborted)
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
    if (v05_) return on_message_v05(bytes);
    auto msg = v02::decode_client(bytes);
    if (!msg) {
      spdlog::warn("session {}: dropped undecodable message ({} bytes): {}", id_, bytes.size(), msg.error());
      return resume();
    }
    if (world_->config.verbose) spdlog::debug("session {} <- {}", id_, v02::type_name(*msg));
    const auto delay = world_->config.reply_delay_ms;
    if (delay == 0) return conv_->handle(std::move(msg).value());
    timer_.expires_after(std::chrono::milliseconds(delay));
    timer_.async_wait([self = shared_from_this(), m = std::move(msg).value()](error_code wec) mutable {
      if (!wec && !self->closed_) self->conv_->handle(std::move(m));
    });
  }

  void on_message_v05(const std::string& bytes) {
    auto msg = v05::decode_client(bytes);
    if (!msg) {
      spdlog::warn("session {}: undecodable message ({} bytes): {}", id_, bytes.size(), msg.error());
      return conv05_->undecodable(msg.error());
    }
    if (world_->config.verbose) spdlog::debug("session {} <- {}", id_, v05::type_name(*msg));
    const auto delay = world_->config.reply_delay_ms;
    if (delay == 0) return conv05_->handle(std::move(msg).value());
    timer_.expires_after(std::chrono::milliseconds(delay));
    timer_.async_wait([self = shared_from_this(), m = std::move(msg).value()](error_code wec) mutable {
      if (!wec && !self->closed_) self->conv05_->handle(std::move(m));
    });
  }

  void do_write() {
    writing_ = true;
    ws_.text(queue_.front().text);
    ws_.async_write(net::buffer(queue_.front().bytes),
                    [self = shared_from_this()](error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(error_code ec) {
    writing_ = false;
    if (closed_) return;
    if (ec) {
      spdlog::info("session {}: write failed: {}", id_, ec.message());
      return finish();
    }
    queued_bytes_ -= queue_.front().bytes.size();
    queue_.pop_front();
    ++sent_;
    const auto drop = world_->config.drop_after;
    if (drop >= 0 && sent_ >= static_cast<std::uint64_t>(drop)) {
      // --drop-flush: instances (0.2) / processes (0.5) detach now, their output is buffered.
      if (world_->config.drop_flush && !draining_) conversation_closed(/*detach=*/true);
      if (world_->config.drop_flush && !queue_.empty()) {
        draining_ = true;  // what was already queued still goes out
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
    conversation_closed(world_->config.detach_on_close);  // the queue stays: a write in flight may use it
    auto keep = shared_from_this();
    world_->sessions.erase(id_);
    spdlog::debug("session {}: closed (received {}, sent {})", id_, received_, sent_);
  }

  /// 0.2: the session's instances detach. 0.5: its processes end, or detach if `detach`.
  void conversation_closed(bool detach) {
    if (conv_) conv_->closed();
    if (conv05_) conv05_->closed(detach);
  }

  struct Frame {
    std::string bytes;
    bool text = false;
  };

  websocket::stream<Next> ws_;
  beast::flat_buffer buffer_;
  std::shared_ptr<World> world_;
  std::uint64_t id_;
  const bool v05_;
  std::optional<Conversation> conv_;      // 0.2
  std::optional<Conversation05> conv05_;  // 0.5
  beast::flat_buffer http_buffer_;
  http::request<http::string_body> upgrade_;
  net::steady_timer timer_;
  std::deque<Frame> queue_;
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
  auto start = [&](auto s) {
    world->sessions.emplace(id, s);
    ++world->sessions_total;
    s->run();
  };
  if (world->tls) start(std::make_shared<Session<true>>(std::move(socket), world, id));
  else start(std::make_shared<Session<false>>(std::move(socket), world, id));
}

}  // namespace pie_sim
