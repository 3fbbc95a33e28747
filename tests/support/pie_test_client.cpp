// The v0.2 protocol layer of the test client; the WebSocket is support/ws_test_transport's.
#include "support/pie_test_client.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "pie/v02/codec.hpp"

namespace pg::test {

PieTestClient::PieTestClient(std::uint16_t port, std::string host, std::chrono::milliseconds timeout) {
  const auto h = connect({.host = host, .port = port}, timeout);
  if (!h.connected)
    throw std::runtime_error("connect to " + host + ":" + std::to_string(port) + " failed: " + h.error);
  if (!h.upgraded) throw std::runtime_error("WebSocket handshake failed: " + h.error);
  start_reading();
}

bool PieTestClient::send(const pie::v02::ClientMessage& m) { return send_raw(pie::v02::encode(m)); }

std::optional<pie::v02::ServerMessage> PieTestClient::recv(std::chrono::milliseconds timeout) {
  auto frame = recv_frame(timeout);
  if (!frame) return std::nullopt;
  if (frame->text) {
    ADD_FAILURE() << "server sent a text frame: " << frame->bytes.substr(0, 200);
    return std::nullopt;
  }
  auto msg = pie::v02::decode_server(frame->bytes);
  if (!msg) {
    ADD_FAILURE() << "undecodable server frame: " << msg.error();
    return std::nullopt;
  }
  return std::move(msg).value();
}

void PieTestClient::unexpected(const pie::v02::ServerMessage& m) {
  ADD_FAILURE() << "unexpected server message: " << pie::v02::type_name(m);
}

bool PieTestClient::identify(const std::string& username) {
  auto r = request<pie::v02::Response>(pie::v02::Identification{next_corr_id(), username});
  return r && r->successful;
}

}  // namespace pg::test
