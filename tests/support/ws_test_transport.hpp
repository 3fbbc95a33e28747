// The BLOCKING WebSocket transport the Pie test clients are built on (support/pie_test_client.*
// for v0.2, support/pie05_test_client.* for 0.5, each adding its protocol): connect and upgrade,
// frames read into an inbox, writes and reads with deadlines. Nothing here blocks forever and
// nothing knows Pie. Not thread-safe: one test thread drives one transport.
// MessageTestClient adds what every protocol's client does with its decoded messages.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pg::test {

class WsTestTransport {
 public:
  enum class CloseKind { Open, CloseFrame, Abrupt };
  struct Frame {
    bool text = false;
    std::string bytes;
  };
  struct Upgrade {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::string path = "/";
    std::vector<std::pair<std::string, std::string>> headers = {};  // added to the upgrade request
  };
  struct Handshake {
    bool connected = false;  // the TCP connection was made
    bool upgraded = false;   // the WebSocket handshake completed without error
    int status = 0;          // HTTP status of the upgrade's answer (101 on success), 0 if none came
    std::string error;       // the last step's error (its message; "Success" when it timed out)
  };

  WsTestTransport();
  ~WsTestTransport();  // drops the connection
  WsTestTransport(const WsTestTransport&) = delete;
  WsTestTransport& operator=(const WsTestTransport&) = delete;

  /// Connects and upgrades within `timeout`; frames are read only after start_reading().
  Handshake connect(const Upgrade& u, std::chrono::milliseconds timeout);
  /// Binary frames by default from now on; received frames go to the inbox.
  void start_reading();

  /// Sends arbitrary bytes as one binary frame / as one text frame (within 10 s, else the test
  /// fails and the connection is dropped). False if the connection is gone.
  bool send_raw(std::string_view bytes);
  bool send_text(std::string_view text);
  /// The next frame as sent (binary or text), or nullopt on timeout or when the connection closed.
  std::optional<Frame> recv_frame(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  /// True if nothing arrives within `window` (and the connection did not close).
  bool expect_silence(std::chrono::milliseconds window);
  /// Waits until the peer closes the connection; discards frames meanwhile. True if closed.
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  CloseKind close_kind() const;

  /// Polite WebSocket close (within 2 s, else dropped) / abrupt TCP close without a close frame.
  void close();
  void drop();

  /// Size of the largest frame received so far (to check a server's frame discipline).
  std::size_t max_frame_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The base of a protocol's test client: `Client` has send(ClientMessage) -> bool,
/// recv(timeout) -> std::optional<its server message variant>, and unexpected(that message)
/// (which fails the test); this adds typed receives, requests and correlation ids.
template <typename Client, typename ClientMessage>
class MessageTestClient : public WsTestTransport {
 public:
  /// The next message if it is a T, else nullopt (anything else received is consumed and reported).
  template <typename T>
  std::optional<T> recv_as(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    auto m = self().recv(timeout);
    if (!m) return std::nullopt;
    if (auto* t = std::get_if<T>(&*m)) return std::move(*t);
    self().unexpected(*m);
    return std::nullopt;
  }
  /// send() then recv_as<T>().
  template <typename T>
  std::optional<T> request(const ClientMessage& m, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    if (!self().send(m)) return std::nullopt;
    return recv_as<T>(timeout);
  }
  std::uint32_t next_corr_id() { return ++corr_; }

 private:
  Client& self() { return static_cast<Client&>(*this); }
  std::uint32_t corr_ = 0;
};

}  // namespace pg::test
