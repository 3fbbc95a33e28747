// Beast-heavy translation unit of the test support library.
#include <utility>  // Asio + C++20 needs it before Beast

#include "support/pie_test_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <stdexcept>

#include "pie/v02/codec.hpp"

namespace pg::test {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

struct PieTestClient::Impl {
  net::io_context io;
  websocket::stream<beast::tcp_stream> ws{io};
  beast::flat_buffer buf;
  struct Frame {
    bool text = false;
    std::string bytes;
  };
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

PieTestClient::PieTestClient(std::uint16_t port, std::string host, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  auto& d = *impl_;
  const auto deadline = Clock::now() + timeout;
  const net::ip::tcp::endpoint ep(net::ip::make_address(host), port);
  bool connected = false;
  error_code result;
  beast::get_lowest_layer(d.ws).expires_after(timeout);
  beast::get_lowest_layer(d.ws).async_connect(ep, [&](error_code ec) {
    result = ec;
    connected = true;
  });
  if (!d.run_until([&] { return connected; }, deadline) || result)
    throw std::runtime_error("connect to " + host + ":" + std::to_string(port) + " failed: " + result.message());
  beast::get_lowest_layer(d.ws).expires_never();
  d.ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  d.ws.read_message_max(64 * 1024 * 1024);  // observe whatever the server sends
  d.ws.auto_fragment(false);
  bool shaken = false;
  d.ws.async_handshake(host + ":" + std::to_string(port), "/", [&](error_code ec) {
    result = ec;
    shaken = true;
  });
  if (!d.run_until([&] { return shaken; }, deadline) || result)
    throw std::runtime_error("WebSocket handshake failed: " + result.message());
  d.ws.binary(true);
  d.start_read();
}

PieTestClient::~PieTestClient() {
  if (impl_) impl_->drop();
}

bool PieTestClient::send(const pie::v02::ClientMessage& m) { return impl_->write(pie::v02::encode(m), false); }
bool PieTestClient::send_raw(std::string_view bytes) { return impl_->write(bytes, false); }
bool PieTestClient::send_text(std::string_view text) { return impl_->write(text, true); }

std::optional<pie::v02::ServerMessage> PieTestClient::recv(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  d.run_until([&] { return !d.inbox.empty() || d.closed != CloseKind::Open; }, Clock::now() + timeout);
  if (d.inbox.empty()) return std::nullopt;
  auto frame = std::move(d.inbox.front());
  d.inbox.pop_front();
  if (frame.text) {
    ADD_FAILURE() << "server sent a text frame: " << frame.bytes.substr(0, 200);
    return std::nullopt;
  }
  auto msg = pie::v02::decode_server(frame.bytes);
  if (!msg) {
    ADD_FAILURE() << "undecodable server frame: " << msg.error();
    return std::nullopt;
  }
  return std::move(msg).value();
}

void PieTestClient::unexpected(const pie::v02::ServerMessage& m) {
  ADD_FAILURE() << "unexpected server message: " << pie::v02::type_name(m);
}

bool PieTestClient::expect_silence(std::chrono::milliseconds window) {
  auto& d = *impl_;
  d.run_until([&] { return !d.inbox.empty() || d.closed != CloseKind::Open; }, Clock::now() + window);
  return d.inbox.empty() && d.closed == CloseKind::Open;
}

bool PieTestClient::wait_closed(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  return d.run_until(
      [&] {
        d.inbox.clear();
        return d.closed != CloseKind::Open;
      },
      Clock::now() + timeout);
}

PieTestClient::CloseKind PieTestClient::close_kind() const { return impl_->closed; }

bool PieTestClient::identify(const std::string& username) {
  auto r = request<pie::v02::Response>(pie::v02::Identification{next_corr_id(), username});
  return r && r->successful;
}

void PieTestClient::close() {
  auto& d = *impl_;
  if (d.closed != CloseKind::Open) return;
  auto done = std::make_shared<bool>(false);
  d.ws.async_close(websocket::close_code::normal, [done](error_code) { *done = true; });
  if (!d.run_until([&] { return *done; }, Clock::now() + std::chrono::seconds(2))) d.drop();
  if (d.closed == CloseKind::Open) d.closed = CloseKind::CloseFrame;
}

void PieTestClient::drop() { impl_->drop(); }

std::size_t PieTestClient::max_frame_bytes() const { return impl_->max_frame; }

}  // namespace pg::test
