// The WebSocket client transport both Pie lines share: connect, upgrade (with extra headers),
// one read outstanding, an ordered write queue with one write in flight, a bounded close.
// Protocol-free: it moves whole frames. ws:// or, with a TLS context, wss:// (tls_client.hpp).
// Beast lives in ws_client.cpp only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

namespace pg::pie::transport {

class TlsClientContext;  // tls_client.hpp

struct WsOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers;  // added to the upgrade request
  std::chrono::milliseconds connect_timeout{5000};  // TCP connect, the upgrade, and the close handshake
  std::size_t max_frame_bytes = 4 * 1024 * 1024;    // a larger incoming frame ends the connection
  std::size_t max_queued_bytes = 256 * 1024 * 1024;  // unsent bytes beyond this end the connection
  std::string name;  // for logs ("pie host:port")
  /// wss://: the TLS handshake (bounded by connect_timeout, the peer verified against `host`)
  /// comes between the TCP connect and the upgrade. Null = ws://.
  std::shared_ptr<TlsClientContext> tls;
};

/// What the protocol above hears, always on the client's executor. After close() nothing is called.
struct WsEvents {
  std::function<void()> on_open;                                // upgraded: frames may flow
  std::function<void(std::string why)> on_fail;                 // connect or upgrade failed (instead of on_open)
  std::function<void(std::string_view frame, bool binary)> on_frame;
  std::function<void(std::string why)> on_lost;                 // after on_open: the connection ended
};

class WsClient {
 public:
  using Ptr = std::shared_ptr<WsClient>;
  virtual ~WsClient() = default;
  /// Resolve, connect, upgrade; then read frames until the connection ends or close() is called.
  virtual void start() = 0;
  /// Queue one binary frame (dropped once the connection is ending).
  virtual void send(std::string frame) = 0;
  /// Ends the connection: the write in flight completes, then a close frame; the socket is gone
  /// after connect_timeout whatever the peer does. No event is called afterwards.
  virtual void close() = 0;
  virtual std::size_t queued_bytes() const = 0;
};

WsClient::Ptr make_ws_client(boost::asio::any_io_executor ex, WsOptions opts, WsEvents events);

}  // namespace pg::pie::transport
