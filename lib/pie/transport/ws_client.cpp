// Beast WebSocket client in callback style (one step = one pair of member functions, as in
// Beast's example/websocket/client/async). One executor, no locks. One class for ws:// and
// wss://: the TLS variant only adds the TLS handshake between the TCP connect and the upgrade.
#include <utility>  // Asio + C++20 needs it before Beast

#include "pie/transport/ws_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <type_traits>

#include "pie/transport/tls_client.hpp"

namespace pg::pie::transport {

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

template <bool Tls>
class Client final : public WsClient, public std::enable_shared_from_this<Client<Tls>> {
  using Next = std::conditional_t<Tls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;
  using std::enable_shared_from_this<Client<Tls>>::shared_from_this;

 public:
  Client(net::any_io_executor ex, WsOptions opts, WsEvents events)
      : opts_(std::move(opts)), ev_(std::move(events)), resolver_(ex), ws_(make_stream(ex, opts_)), close_timer_(ex) {}

  void start() override {
    if (started_) return;
    started_ = true;
    resolver_.async_resolve(opts_.host, std::to_string(opts_.port),
                            beast::bind_front_handler(&Client::on_resolve, shared_from_this()));
  }

  void send(std::string frame) override {
    if (ending_) return;
    queued_ += frame.size();
    wq_.push_back(std::move(frame));
    if (queued_ > opts_.max_queued_bytes)
      return lost("more than " + std::to_string(opts_.max_queued_bytes) + " bytes queued: the server does not read");
    if (!writing_ && open_) do_write();
  }

  void close() override {
    ev_ = {};
    end_io();
  }

  std::size_t queued_bytes() const override { return queued_; }

 private:
  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ending_) return;
    if (ec) return fail("cannot resolve " + opts_.host + ": " + ec.message());
    auto& layer = beast::get_lowest_layer(ws_);
    layer.expires_after(opts_.connect_timeout);
    layer.async_connect(results, beast::bind_front_handler(&Client::on_connect, shared_from_this()));
  }

  void on_connect(beast::error_code ec, tcp::resolver::results_type::endpoint_type) {
    if (ending_) return;
    if (ec) {
      const auto what = ec == beast::error::timeout
                            ? "timed out after " + std::to_string(opts_.connect_timeout.count()) + " ms"
                            : ec.message();
      return fail("cannot connect to " + opts_.host + ":" + std::to_string(opts_.port) + ": " + what);
    }
    // Small frames go out at once: Nagle would hold them behind unacknowledged ones.
    beast::error_code nodelay_ec;
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), nodelay_ec);
    if constexpr (Tls) {
      SSL* ssl = ws_.next_layer().native_handle();
      if (auto why = prepare_tls_connection(ssl, opts_.host); !why.empty())
        return fail("TLS with " + opts_.host + ":" + std::to_string(opts_.port) + ": " + why);
      beast::get_lowest_layer(ws_).expires_after(opts_.connect_timeout);  // bounds the TLS handshake
      ws_.next_layer().async_handshake(net::ssl::stream_base::client,
                                       beast::bind_front_handler(&Client::on_tls_handshake, shared_from_this()));
    } else {
      upgrade();
    }
  }

  void on_tls_handshake(beast::error_code ec) {
    if (ending_) return;
    if (ec) {
      const auto what = ec == beast::error::timeout
                            ? "timed out after " + std::to_string(opts_.connect_timeout.count()) + " ms"
                            : describe_tls_failure(ws_.next_layer().native_handle(), ec, *opts_.tls);
      return fail("TLS handshake with " + opts_.host + ":" + std::to_string(opts_.port) + " failed: " + what);
    }
    upgrade();
  }

  void upgrade() {
    // From here on the WebSocket layer keeps the time (upgrade and close handshake).
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t{};
    t.handshake_timeout = opts_.connect_timeout;
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator([headers = opts_.headers](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, "pie-gateway");
      for (const auto& [k, v] : headers) req.set(k, v);
    }));
    ws_.read_message_max(opts_.max_frame_bytes);
    ws_.auto_fragment(false);
    ws_.binary(true);
    ws_.async_handshake(res_, opts_.host + ":" + std::to_string(opts_.port), opts_.path,
                        beast::bind_front_handler(&Client::on_handshake, shared_from_this()));
  }

  void on_handshake(beast::error_code ec) {
    if (ending_) return;
    if (ec) {
      std::string why = describe(ec);
      if (ec == websocket::error::upgrade_declined) {
        why = "the server answered HTTP " + std::to_string(res_.result_int()) + " " +
              std::string(res_.reason()) + " to the upgrade of " + opts_.path;
        const auto& body = res_.body();
        if (!body.empty()) why += ": " + body.substr(0, 200);
      }
      return fail("WebSocket handshake with " + opts_.host + " failed: " + why);
    }
    res_ = {};
    open_ = true;
    do_read();
    if (!wq_.empty() && !writing_) do_write();
    if (ev_.on_open) ev_.on_open();
  }

  void do_read() { ws_.async_read(rbuf_, beast::bind_front_handler(&Client::on_read, shared_from_this())); }

  void on_read(beast::error_code ec, std::size_t) {
    if (ending_) return;
    if (ec) return lost(describe(ec));
    const auto data = rbuf_.cdata();
    if (ev_.on_frame)
      ev_.on_frame(std::string_view(static_cast<const char*>(data.data()), data.size()), ws_.got_binary());
    rbuf_.consume(rbuf_.size());
    if (!ending_) do_read();
  }

  void do_write() {
    writing_ = true;
    ws_.async_write(net::buffer(wq_.front()), beast::bind_front_handler(&Client::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (!wq_.empty()) {
      queued_ -= wq_.front().size();
      wq_.pop_front();
    }
    if (ending_) {
      wq_.clear();
      queued_ = 0;
      if (close_deferred_) do_close();
      return;
    }
    if (ec) return lost("write failed: " + describe(ec));
    if (!wq_.empty()) do_write();
  }

  void fail(std::string why) {
    auto cb = std::exchange(ev_.on_fail, nullptr);
    ev_ = {};
    end_io();
    if (cb) cb(std::move(why));
  }

  void lost(std::string why) {
    auto cb = std::exchange(ev_.on_lost, nullptr);
    ev_ = {};
    end_io();
    if (cb) cb(std::move(why));
  }

  void end_io() {
    if (ending_) return;
    ending_ = true;
    resolver_.cancel();
    // Keep only the buffer of the write in flight.
    if (writing_) wq_.erase(wq_.begin() + 1, wq_.end());
    else wq_.clear();
    queued_ = 0;
    if (!open_) {
      beast::get_lowest_layer(ws_).close();  // cancels connect / upgrade
      return;
    }
    if (writing_) close_deferred_ = true;
    else do_close();
    // Whatever becomes of the close handshake (a write stuck on a peer that stopped reading),
    // the socket is gone after connect_timeout.
    close_timer_.expires_after(opts_.connect_timeout);
    close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) beast::get_lowest_layer(self->ws_).close();
    });
  }

  void do_close() {
    if (close_started_) return;
    close_started_ = true;
    if (!ws_.is_open()) {
      beast::get_lowest_layer(ws_).close();
      return;
    }
    ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code ec) {
      self->close_timer_.cancel();
      if (ec && ec != net::error::operation_aborted)
        spdlog::debug("{}: close handshake: {}", self->opts_.name, ec.message());
      beast::get_lowest_layer(self->ws_).close();
    });
  }

  std::string describe(beast::error_code ec) const {
    if (ec == websocket::error::closed) {
      const auto& r = ws_.reason();
      std::string s = "server closed the connection (code " + std::to_string(r.code) + ")";
      if (!r.reason.empty()) s += ": " + std::string(r.reason.data(), r.reason.size());
      return s;
    }
    if (ec == beast::error::timeout) return "timed out";
    if (ec == net::error::eof || ec == beast::http::error::end_of_stream || ec == net::ssl::error::stream_truncated)
      return "server closed the connection without a close frame";
    if (ec == websocket::error::message_too_big)
      return "the server sent a frame larger than " + std::to_string(opts_.max_frame_bytes) + " bytes";
    return ec.message();
  }

  static websocket::stream<Next> make_stream(const net::any_io_executor& ex, const WsOptions& opts) {
    if constexpr (Tls) return websocket::stream<Next>(ex, opts.tls->native());
    else return websocket::stream<Next>(ex);
  }

  WsOptions opts_;  // before ws_: holds the TLS context the stream uses
  WsEvents ev_;
  tcp::resolver resolver_;
  websocket::stream<Next> ws_;
  websocket::response_type res_;  // the upgrade's answer (a refusal's status and body)
  net::steady_timer close_timer_;
  beast::flat_buffer rbuf_;
  std::deque<std::string> wq_;
  std::size_t queued_ = 0;
  bool started_ = false;
  bool open_ = false;
  bool writing_ = false;
  bool ending_ = false;
  bool close_deferred_ = false;  // close after the write in flight
  bool close_started_ = false;
};

}  // namespace

WsClient::Ptr make_ws_client(boost::asio::any_io_executor ex, WsOptions opts, WsEvents events) {
  if (opts.tls) return std::make_shared<Client<true>>(std::move(ex), std::move(opts), std::move(events));
  return std::make_shared<Client<false>>(std::move(ex), std::move(opts), std::move(events));
}

}  // namespace pg::pie::transport
