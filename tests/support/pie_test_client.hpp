// A small BLOCKING WebSocket client for tests that talk Pie v0.2 to a real server (pie-sim, or the
// gateway's Pie side). Every call has a deadline; nothing here blocks forever.
// Not thread-safe: one test thread drives one client.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "pie/v02/messages.hpp"

namespace pg::test {

class PieTestClient {
 public:
  enum class CloseKind { Open, CloseFrame, Abrupt };

  /// Connects to 127.0.0.1:`port` (or `host`) and does the WebSocket handshake; throws on failure.
  explicit PieTestClient(std::uint16_t port, std::string host = "127.0.0.1",
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  ~PieTestClient();
  PieTestClient(const PieTestClient&) = delete;
  PieTestClient& operator=(const PieTestClient&) = delete;

  /// Encodes and sends one message as a binary frame. False if the connection is gone.
  bool send(const pie::v02::ClientMessage& m);
  /// Sends arbitrary bytes as one binary frame / as one text frame.
  bool send_raw(std::string_view bytes);
  bool send_text(std::string_view text);

  /// The next server message, or nullopt on timeout or when the connection closed
  /// (see close_kind()). Frames that do not decode fail the calling test via ADD_FAILURE.
  std::optional<pie::v02::ServerMessage> recv(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  /// The next message if it is a T, else nullopt (anything else received is consumed and reported).
  template <typename T>
  std::optional<T> recv_as(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    auto m = recv(timeout);
    if (!m) return std::nullopt;
    if (auto* t = std::get_if<T>(&*m)) return std::move(*t);
    unexpected(*m);
    return std::nullopt;
  }
  /// send() then recv_as<T>().
  template <typename T>
  std::optional<T> request(const pie::v02::ClientMessage& m,
                           std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    if (!send(m)) return std::nullopt;
    return recv_as<T>(timeout);
  }
  /// True if nothing arrives within `window` (and the connection did not close).
  bool expect_silence(std::chrono::milliseconds window);
  /// Waits until the server closes the connection; discards messages meanwhile. True if closed.
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  CloseKind close_kind() const;

  /// identification (auth disabled on the server) and check the answer; true on success.
  bool identify(const std::string& username);

  /// Polite WebSocket close / abrupt TCP close without a close frame.
  void close();
  void drop();

  /// Size of the largest frame received so far (to check the server's 1 MiB frame discipline).
  std::size_t max_frame_bytes() const;
  std::uint32_t next_corr_id() { return ++corr_; }

 private:
  void unexpected(const pie::v02::ServerMessage& m);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint32_t corr_ = 0;
};

}  // namespace pg::test
