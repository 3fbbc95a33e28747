// Beast-heavy translation unit of the test clients' WebSocket transport.
#include <utility>  // Asio + C++20 needs it before Beast

#include "support/ws_test_transport.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>

namespace pg::test {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

struct WsTestTransport::Impl {
  net::io_context io;
  websocket::stream<beast::tcp_stream> ws{io};
  beast::flat_buffer buf;
  std::deque<Frame> inbox;
  CloseKind closed = CloseKind::Open;
  std::size_t max_frame = 0;

  /// Runs the io_context until `done()` or the deadline; bounded in iterations too.
  bool run_until(const std::function<bool()>& done, Clock::time_point deadline) {
    for (int i = 0; i < 1'000'000; ++i) {
      if (done()) return true;
      const auto left = deadline - Clock::now();
      if (left <= Clock::duration::zero()) return false;
      if (io.stopped()) io.restart();
      if (io.run_one_for(std::chrono::duration_cast<std::chrono::milliseconds>(left) + std::chrono::milliseconds(1)) ==
              0 &&
          closed != CloseKind::Open && !done())
        return false;  // nothing left that could make progress
    }
    return done();
  }

  bool wait_frame_or_close(Clock::time_point deadline) {
    return run_until([&] { return !inbox.empty() || closed != CloseKind::Open; }, deadline);
  }

  void start_read() {
    if (closed != CloseKind::Open) return;
    ws.async_read(buf, [this](error_code ec, std::size_t n) {
      if (ec) {
        if (closed == CloseKind::Open) closed = ec == websocket::error::closed ? CloseKind::CloseFrame : CloseKind::Abrupt;
        return;
      }
      max_frame = std::max(max_frame, n);
      inbox.push_back(Frame{ws.got_text(), beast::buffers_to_string(buf.data())});
      buf.consume(buf.size());
      start_read();
    });
  }

  bool write(std::string_view bytes, bool text) {
    if (closed != CloseKind::Open) return false;
    // Shared state: the handler may outlive this call if the write has to be abandoned.
    auto state = std::make_shared<std::pair<bool, error_code>>(false, error_code{});
    ws.text(text);
    ws.async_write(net::buffer(bytes.data(), bytes.size()), [state](error_code ec, std::size_t) {
      state->second = ec;
      state->first = true;
    });
    if (!run_until([&] { return state->first; }, Clock::now() + std::chrono::seconds(10))) {
      ADD_FAILURE() << "write did not complete within 10 s";
      drop();
      run_until([&] { return state->first; }, Clock::now() + std::chrono::seconds(1));
      return false;
    }
    return !state->second;
  }

  void drop() {
    error_code ignored;
    beast::get_lowest_layer(ws).socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws).socket().close(ignored);
    if (closed == CloseKind::Open) closed = CloseKind::Abrupt;
  }
};

WsTestTransport::WsTestTransport() : impl_(std::make_unique<Impl>()) {}

WsTestTransport::~WsTestTransport() {
  if (impl_) impl_->drop();
}

WsTestTransport::Handshake WsTestTransport::connect(const Upgrade& u, std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  Handshake h;
  const auto deadline = Clock::now() + timeout;
  const net::ip::tcp::endpoint ep(net::ip::make_address(u.host), u.port);
  bool done = false;
  error_code result;
  beast::get_lowest_layer(d.ws).expires_at(deadline);
  beast::get_lowest_layer(d.ws).async_connect(ep, [&](error_code ec) {
    result = ec;
    done = true;
  });
  if (!d.run_until([&] { return done; }, deadline) || result) {
    h.error = result.message();
    return h;
  }
  h.connected = true;
  beast::get_lowest_layer(d.ws).expires_never();
  d.ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  d.ws.set_option(websocket::stream_base::decorator([headers = u.headers](websocket::request_type& req) {
    for (const auto& [name, value] : headers) req.set(name, value);
  }));
  d.ws.read_message_max(64 * 1024 * 1024);  // observe whatever the server sends
  d.ws.auto_fragment(false);
  websocket::response_type res;
  done = false;
  d.ws.async_handshake(res, u.host + ":" + std::to_string(u.port), u.path, [&](error_code ec) {
    result = ec;
    done = true;
  });
  const bool answered = d.run_until([&] { return done; }, deadline);
  h.error = result.message();
  if (!answered) return h;
  h.upgraded = !result;
  h.status = static_cast<int>(res.result_int());
  return h;
}

void WsTestTransport::start_reading() {
  impl_->ws.binary(true);
  impl_->start_read();
}

bool WsTestTransport::send_raw(std::string_view bytes) { return impl_->write(bytes, false); }
bool WsTestTransport::send_text(std::string_view text) { return impl_->write(text, true); }

std::optional<WsTestTransport::Frame> WsTestTransport::recv_frame(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  d.wait_frame_or_close(Clock::now() + timeout);
  if (d.inbox.empty()) return std::nullopt;
  auto frame = std::move(d.inbox.front());
  d.inbox.pop_front();
  return frame;
}

bool WsTestTransport::expect_silence(std::chrono::milliseconds window) {
  auto& d = *impl_;
  d.wait_frame_or_close(Clock::now() + window);
  return d.inbox.empty() && d.closed == CloseKind::Open;
}

bool WsTestTransport::wait_closed(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  return d.run_until(
      [&] {
        d.inbox.clear();
        return d.closed != CloseKind::Open;
      },
      Clock::now() + timeout);
}

WsTestTransport::CloseKind WsTestTransport::close_kind() const { return impl_->closed; }

void WsTestTransport::close() {
  auto& d = *impl_;
  if (d.closed != CloseKind::Open) return;
  auto done = std::make_shared<bool>(false);
  d.ws.async_close(websocket::close_code::normal, [done](error_code) { *done = true; });
  if (!d.run_until([&] { return *done; }, Clock::now() + std::chrono::seconds(2))) d.drop();
  if (d.closed == CloseKind::Open) d.closed = CloseKind::CloseFrame;
}

void WsTestTransport::drop() { impl_->drop(); }

std::size_t WsTestTransport::max_frame_bytes() const { return impl_->max_frame; }

}  // namespace pg::test
