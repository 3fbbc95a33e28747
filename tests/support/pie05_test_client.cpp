// Beast-heavy translation unit of the 0.5 test client.
#include <utility>  // Asio + C++20 needs it before Beast

#include "support/pie05_test_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <stdexcept>

#include "pie/v05/codec.hpp"

namespace pg::test {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace v05 = pie::v05;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

struct Pie05TestClient::Impl {
  net::io_context io;
  websocket::stream<beast::tcp_stream> ws{io};
  beast::flat_buffer buf;
  std::deque<Frame> inbox;
  CloseKind closed = CloseKind::Open;
  std::size_t max_frame = 0;

  bool run_until(const std::function<bool()>& done, Clock::time_point deadline) {
    for (int i = 0; i < 1'000'000; ++i) {
      if (done()) return true;
      const auto left = deadline - Clock::now();
      if (left <= Clock::duration::zero()) return false;
      if (io.stopped()) io.restart();
      if (io.run_one_for(std::chrono::duration_cast<std::chrono::milliseconds>(left) + std::chrono::milliseconds(1)) ==
              0 &&
          closed != CloseKind::Open && !done())
        return false;
    }
    return done();
  }

  /// Connects and upgrades; the HTTP status of the answer (101 on success), 0 if none came.
  int handshake(std::uint16_t port, const std::string& path, const std::optional<std::string>& identity,
                Clock::time_point deadline) {
    const net::ip::tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port);
    bool done = false;
    error_code result;
    beast::get_lowest_layer(ws).expires_at(deadline);
    beast::get_lowest_layer(ws).async_connect(ep, [&](error_code ec) {
      result = ec;
      done = true;
    });
    if (!run_until([&] { return done; }, deadline) || result) return 0;
    beast::get_lowest_layer(ws).expires_never();
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws.set_option(websocket::stream_base::decorator([identity](websocket::request_type& req) {
      if (identity) req.set("x-pie-identity", *identity);
    }));
    ws.read_message_max(64 * 1024 * 1024);  // observe whatever the server sends
    ws.auto_fragment(false);
    websocket::response_type res;
    done = false;
    ws.async_handshake(res, "127.0.0.1:" + std::to_string(port), path, [&](error_code ec) {
      result = ec;
      done = true;
    });
    if (!run_until([&] { return done; }, deadline)) return 0;
    return static_cast<int>(res.result_int());
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

Pie05TestClient::Pie05TestClient(std::uint16_t port, std::optional<std::string> identity, std::string path,
                                 std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  const int status = impl_->handshake(port, path, identity, Clock::now() + timeout);
  if (status != 101) throw std::runtime_error("0.5 upgrade on " + path + " failed: HTTP " + std::to_string(status));
  impl_->ws.binary(true);
  impl_->start_read();
}

Pie05TestClient::~Pie05TestClient() {
  if (impl_) impl_->drop();
}

int Pie05TestClient::handshake_status(std::uint16_t port, const std::string& path, std::optional<std::string> identity) {
  Impl impl;
  const int status = impl.handshake(port, path, identity, Clock::now() + std::chrono::seconds(5));
  impl.drop();
  return status;
}

bool Pie05TestClient::send(const v05::ClientMessage& m) { return impl_->write(v05::encode(m), false); }
bool Pie05TestClient::send_raw(std::string_view bytes) { return impl_->write(bytes, false); }
bool Pie05TestClient::send_text(std::string_view text) { return impl_->write(text, true); }

std::optional<Pie05TestClient::Frame> Pie05TestClient::recv_frame(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  d.run_until([&] { return !d.inbox.empty() || d.closed != CloseKind::Open; }, Clock::now() + timeout);
  if (d.inbox.empty()) return std::nullopt;
  auto frame = std::move(d.inbox.front());
  d.inbox.pop_front();
  return frame;
}

bool Pie05TestClient::note_text(const std::string& text) {
  const auto t = v05::decode_text(text);
  if (t.kind == v05::TextFrame::Kind::TurnDone) return ++turn_dones_, true;
  if (t.kind == v05::TextFrame::Kind::Error) text_errors_.push_back(t.message);
  else ADD_FAILURE() << "unexpected text frame: " << text.substr(0, 200);
  return false;
}

std::optional<v05::ServerMessage> Pie05TestClient::recv(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (int i = 0; i < 100000; ++i) {
    auto f = recv_frame(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    if (!f) return std::nullopt;
    if (f->text) {
      note_text(f->bytes);
      continue;
    }
    auto msg = v05::decode_server(f->bytes);
    if (!msg) {
      ADD_FAILURE() << "undecodable server frame: " << msg.error();
      return std::nullopt;
    }
    return std::move(msg).value();
  }
  return std::nullopt;
}

std::optional<std::string> Pie05TestClient::recv_text_error(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const auto before = text_errors_.size();
  for (int i = 0; i < 100000 && text_errors_.size() == before; ++i) {
    auto f = recv_frame(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    if (!f) return std::nullopt;
    if (f->text) note_text(f->bytes);
    else ADD_FAILURE() << "binary frame while waiting for a text error";
  }
  return text_errors_.size() > before ? std::optional<std::string>(text_errors_.back()) : std::nullopt;
}

bool Pie05TestClient::await_turns(int n, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const int target = turn_dones_ + n;
  for (int i = 0; i < 100000 && turn_dones_ < target; ++i) {
    auto f = recv_frame(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    if (!f) return false;
    if (f->text) note_text(f->bytes);
    else ADD_FAILURE() << "binary frame while waiting for turn_done";
  }
  return turn_dones_ >= target;
}

void Pie05TestClient::unexpected(const v05::ServerMessage& m) {
  ADD_FAILURE() << "unexpected server message: " << v05::type_name(m);
}

bool Pie05TestClient::expect_silence(std::chrono::milliseconds window) {
  auto& d = *impl_;
  d.run_until([&] { return !d.inbox.empty() || d.closed != CloseKind::Open; }, Clock::now() + window);
  return d.inbox.empty() && d.closed == CloseKind::Open;
}

bool Pie05TestClient::wait_closed(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  return d.run_until(
      [&] {
        d.inbox.clear();
        return d.closed != CloseKind::Open;
      },
      Clock::now() + timeout);
}

Pie05TestClient::CloseKind Pie05TestClient::close_kind() const { return impl_->closed; }

void Pie05TestClient::close() {
  auto& d = *impl_;
  if (d.closed != CloseKind::Open) return;
  auto done = std::make_shared<bool>(false);
  d.ws.async_close(websocket::close_code::normal, [done](error_code) { *done = true; });
  if (!d.run_until([&] { return *done; }, Clock::now() + std::chrono::seconds(2))) d.drop();
  if (d.closed == CloseKind::Open) d.closed = CloseKind::CloseFrame;
}

void Pie05TestClient::drop() { impl_->drop(); }

std::size_t Pie05TestClient::max_frame_bytes() const { return impl_->max_frame; }

}  // namespace pg::test
