// A small BLOCKING WebSocket client for tests that talk the Pie 0.5 edge dialect (pie-sim
// --protocol 0.5): the /v1/ws handshake with x-pie-identity, binary msgpack messages, and the
// edge's JSON text frames, on the shared test transport (support/ws_test_transport, which also
// gives raw frames, silence, close and drop). Every call has a deadline. Not thread-safe: one
// test thread drives it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pie/v05/messages.hpp"
#include "support/ws_test_transport.hpp"

namespace pg::test {

class Pie05TestClient : public MessageTestClient<Pie05TestClient, pie::v05::ClientMessage> {
 public:
  /// Connects and upgrades on `path` with `x-pie-identity: identity` (none if nullopt); throws on failure.
  explicit Pie05TestClient(std::uint16_t port, std::optional<std::string> identity = std::string("default/tester"),
                           std::string path = "/v1/ws",
                           std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

  /// The HTTP status a WebSocket upgrade on `path` gets (101 when it succeeds), 0 on no answer.
  static int handshake_status(std::uint16_t port, const std::string& path, std::optional<std::string> identity);

  bool send(const pie::v05::ClientMessage& m);

  /// The next binary message. Text frames met on the way are counted (turn_done) or kept (errors).
  std::optional<pie::v05::ServerMessage> recv(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  /// Reads until a text error frame (binary messages on the way fail the test); its message.
  std::optional<std::string> recv_text_error(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  /// Reads until `n` more turn_done frames arrived (binary messages on the way fail the test).
  bool await_turns(int n, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

  int turn_dones() const { return turn_dones_; }
  const std::vector<std::string>& text_errors() const { return text_errors_; }

 private:
  friend MessageTestClient;
  void unexpected(const pie::v05::ServerMessage& m);
  /// Counts or keeps a text frame; true if it was a turn_done.
  bool note_text(const std::string& text);
  int turn_dones_ = 0;
  std::vector<std::string> text_errors_;
};

}  // namespace pg::test
