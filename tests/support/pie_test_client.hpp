// A small BLOCKING WebSocket client for tests that talk Pie v0.2 to a real server (pie-sim, or the
// gateway's Pie side): the v0.2 messages on the shared test transport (support/ws_test_transport,
// which also gives raw frames, silence, close and drop). Every call has a deadline; nothing here
// blocks forever. Not thread-safe: one test thread drives one client.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "pie/v02/messages.hpp"
#include "support/ws_test_transport.hpp"

namespace pg::test {

class PieTestClient : public MessageTestClient<PieTestClient, pie::v02::ClientMessage> {
 public:
  /// Connects to 127.0.0.1:`port` (or `host`) and does the WebSocket handshake; throws on failure.
  explicit PieTestClient(std::uint16_t port, std::string host = "127.0.0.1",
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

  /// Encodes and sends one message as a binary frame. False if the connection is gone.
  bool send(const pie::v02::ClientMessage& m);

  /// The next server message, or nullopt on timeout or when the connection closed
  /// (see close_kind()). Frames that do not decode fail the calling test via ADD_FAILURE.
  std::optional<pie::v02::ServerMessage> recv(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

  /// identification (auth disabled on the server) and check the answer; true on success.
  bool identify(const std::string& username);

 private:
  friend MessageTestClient;
  void unexpected(const pie::v02::ServerMessage& m);
};

}  // namespace pg::test
