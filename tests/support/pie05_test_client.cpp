// The 0.5 protocol layer of the test client (the /v1/ws upgrade with x-pie-identity, msgpack
// messages, the edge's text frames); the WebSocket is support/ws_test_transport's.
#include "support/pie05_test_client.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "pie/v05/codec.hpp"

namespace pg::test {

namespace v05 = pie::v05;
using Clock = std::chrono::steady_clock;

namespace {

WsTestTransport::Upgrade upgrade(std::uint16_t port, const std::string& path, const std::optional<std::string>& identity) {
  WsTestTransport::Upgrade u{.port = port, .path = path};
  if (identity) u.headers.emplace_back("x-pie-identity", *identity);
  return u;
}

}  // namespace

Pie05TestClient::Pie05TestClient(std::uint16_t port, std::optional<std::string> identity, std::string path,
                                 std::chrono::milliseconds timeout) {
  const int status = connect(upgrade(port, path, identity), timeout).status;
  if (status != 101) throw std::runtime_error("0.5 upgrade on " + path + " failed: HTTP " + std::to_string(status));
  start_reading();
}

int Pie05TestClient::handshake_status(std::uint16_t port, const std::string& path, std::optional<std::string> identity) {
  WsTestTransport t;
  const int status = t.connect(upgrade(port, path, identity), std::chrono::seconds(5)).status;
  t.drop();
  return status;
}

bool Pie05TestClient::send(const v05::ClientMessage& m) { return send_raw(v05::encode(m)); }

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

}  // namespace pg::test
