// A small BLOCKING WebSocket client for tests that talk the Pie 0.5 edge dialect (pie-sim
// --protocol 0.5): the /v1/ws handshake with x-pie-identity, binary msgpack messages, and the
// edge's JSON text frames. Every call has a deadline. Not thread-safe: one test thread drives it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pie/v05/messages.hpp"

namespace pg::test {

class Pie05TestClient {
 public:
  enum class CloseKind { Open, CloseFrame, Abrupt };
  struct Frame {
    bool text = false;
    std::string bytes;
  };

  /// Connects and upgrades on `path` with `x-pie-identity: identity` (none if nullopt); throws on failure.
  explicit Pie05TestClient(std::uint16_t port, std::optional<std::string> identity = std::string("default/tester"),
                           std::string path = "/v1/ws",
                           std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  ~Pie05TestClient();
  Pie05TestClient(const Pie05TestClient&) = delete;
  Pie05TestClient& operator=(const Pie05TestClient&) = delete;

  /// The HTTP status a WebSocket upgrade on `path` gets (101 when it succeeds), 0 on no answer.
  static int handshake_status(std::uint16_t port, const std::string& path, std::optional<std::string> identity);

  bool send(const pie::v05::ClientMessage& m);
  bool send_raw(std::string_view bytes);
  bool send_text(std::string_view text);

  /// The next frame as sent (binary or text), or nullopt on timeout / close.
  std::optional<Frame> recv_frame(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  /// The next binary message. Text frames met on the way are counted (turn_done) or kept (errors).
  std::optional<pie::v05::ServerMessage> recv(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  template <typename T>
  std::optional<T> recv_as(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    auto m = recv(timeout);
    if (!m) return std::nullopt;
    if (auto* t = std::get_if<T>(&*m)) return std::move(*t);
    unexpected(*m);
    return std::nullopt;
  }
  template <typename T>
  std::optional<T> request(const pie::v05::ClientMessage& m,
                           std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    if (!send(m)) return std::nullopt;
    return recv_as<T>(timeout);
  }
  /// Reads until a text error frame (binary messages on the way fail the test); its message.
  std::optional<std::string> recv_text_error(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  /// Reads until `n` more turn_done frames arrived (binary messages on the way fail the test).
  bool await_turns(int n, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

  bool expect_silence(std::chrono::milliseconds window);
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  CloseKind close_kind() const;
  void close();
  void drop();

  std::size_t max_frame_bytes() const;
  int turn_dones() const { return turn_dones_; }
  const std::vector<std::string>& text_errors() const { return text_errors_; }
  std::uint32_t next_corr_id() { return ++corr_; }

 private:
  void unexpected(const pie::v05::ServerMessage& m);
  /// Counts or keeps a text frame; true if it was a turn_done.
  bool note_text(const std::string& text);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint32_t corr_ = 0;
  int turn_dones_ = 0;
  std::vector<std::string> text_errors_;
};

}  // namespace pg::test
