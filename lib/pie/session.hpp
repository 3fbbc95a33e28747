// A client session to one Pie server, independent of the protocol line (0.2 or 0.5).
// One vocabulary for both: an "instance" is a 0.2 instance or a 0.5 process; a "blob" is a
// 0.2 blob or a 0.5 file.
// Everything runs on the executor the session was created with; callbacks are invoked there.
// Callers must call methods from that executor too (the gateway's io thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "common/result.hpp"

namespace pg::pie {

namespace auth {
class SshKey;  // pie/auth/ssh_key.hpp
}
namespace transport {
class TlsClientContext;  // pie/transport/tls_client.hpp
}

/// How a session proves who it is.
struct AuthConfig {
  enum class Kind { None, Token, Username, Key };  // same order as config::PieAuth::Kind
  Kind kind = Kind::None;
  std::string username;  // Kind::Username and Kind::Key
  std::string token;     // Kind::Token (the internal token); never logged
  /// Kind::Key: signs the server's challenge (identification -> challenge -> signature).
  std::shared_ptr<const auth::SshKey> key;
};

/// The Pie client protocol a server speaks.
enum class Protocol { V02, V05 };
const char* to_string(Protocol p);  // "0.2", "0.5"

struct SessionOptions {
  Protocol protocol = Protocol::V02;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string path = "/";
  /// wss://: the TLS context (trust, TLS 1.2+); the certificate must name `host`. Null = ws://.
  std::shared_ptr<transport::TlsClientContext> tls;
  /// 0.5: the `x-pie-identity` header ("tenant/user"); the 0.5 edge refuses a connection without it.
  std::string identity = "default/pie-gateway";
  AuthConfig auth;
  std::chrono::milliseconds connect_timeout{5000};
  /// Every request that expects a reply times out after this (Pie drops bad requests silently).
  std::chrono::milliseconds request_timeout{10000};
  /// `internal_authenticate` with a wrong token is answered after 1-3 s: allow for it.
  std::chrono::milliseconds auth_timeout{10000};
  /// The largest message written to the server (its incoming frame limit): a larger one is never
  /// written, and its request fails with kMessageTooLarge (the server would drop the session).
  std::size_t max_message_bytes = 4u << 20;
};

/// Begins the error of a request refused because its message is over max_message_bytes: the
/// request's own fault, never retried elsewhere (the session is untouched).
inline constexpr std::string_view kMessageTooLarge = "message too large";

/// Begins the reason a 0.5 session ends when the edge refused admission (a text error, then the
/// socket closed): launches that fail with it met a full server, which is backpressure.
inline constexpr std::string_view kAdmissionRefused = "Pie refused admission";

/// How an instance ended. The first five are Pie's terminal event codes 1..5.
enum class InstanceEnd { Completed, Aborted, Exception, ServerError, OutOfResources, SessionLost };
const char* to_string(InstanceEnd e);

/// What an instance produces, delivered in arrival order.
struct InstanceSink {
  std::function<void(std::string_view text)> on_stdout;
  std::function<void(std::string_view text)> on_stderr;
  std::function<void(std::string_view text)> on_message;                            // event code 0
  std::function<void(std::string_view hash, std::string bytes)> on_blob;            // a whole blob
  /// Exactly once per instance: its terminal event, or SessionLost if the session closed first.
  std::function<void(InstanceEnd end, std::string_view message)> on_end;
  /// Set by the cluster, not by sessions: the instance was re-attached after its session dropped,
  /// and output may be missing (Pie drops messages and blobs while detached, keeps 1 MiB of each
  /// stream). May be called more than once.
  std::function<void(std::string_view reason)> on_gap;
  /// Set by the cluster: the instance was lost and, being idempotent, launched again as
  /// `instance_id` on `server`. Output received so far belongs to the lost run and is void.
  std::function<void(std::string_view server, std::string_view instance_id)> on_relaunch;
};

/// A launch carries what either line needs: the 0.2 argument list and the 0.5 input string.
/// A session uses the part its line has (and maps the inferlet name to its line's form).
struct LaunchRequest {
  std::string inferlet;  // "ns/name@version", "name" (= std/name@latest) ...; 0.5: std/name@x.y.z or name@x.y.z
  std::vector<std::string> arguments;  // 0.2
  bool detached = false;
  bool from_registry = false;  // 0.2: launch_instance_from_registry instead of launch_instance
  std::string input = "{}";    // 0.5: the process input (a JSON object by convention)
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  using Ptr = std::shared_ptr<Session>;
  using Done = std::function<void(Result<std::string>)>;  // reply text (or instance id), or an error
  virtual ~Session() = default;

  /// Connect, upgrade to WebSocket and authenticate. `done` gets the server's auth reply text.
  virtual void start(Done done) = 0;
  /// Close the session; pending requests fail with "session closed", attached instances get SessionLost.
  virtual void close() = 0;
  virtual bool is_open() const = 0;
  /// Called once when an established session ends for any reason (not called after close()).
  virtual void on_closed(std::function<void(std::string reason)> cb) = 0;

  /// Launch an instance; on success `done` gets the instance id and `sink` starts receiving.
  virtual void launch(LaunchRequest req, InstanceSink sink, Done done) = 0;
  /// Attach to a detached instance of this server; buffered output arrives through `sink`.
  virtual void attach(std::string instance_id, InstanceSink sink, Done done) = 0;
  virtual void terminate(std::string instance_id, Done done) = 0;
  /// Fire and forget (Pie sends no reply).
  virtual void signal(std::string instance_id, std::string message) = 0;
  /// Send `bytes` to an instance attached to this session as a blob (BLAKE3-named, sent in
  /// 256 KiB chunks); `done` gets the server's reply text after the last chunk.
  virtual void upload_blob(std::string instance_id, std::string bytes, Done done) = 0;
  /// Upload a program (`bytes` = the .wasm, `manifest` = its Pie.toml text, `program_hash` =
  /// lowercase hex BLAKE3 of `bytes`) in 256 KiB chunks; `done` gets the server's reply (the
  /// hash) after the last chunk. Uploads on one session run one at a time, in call order.
  virtual void upload_program(std::string program_hash, std::string manifest,
                              std::shared_ptr<const std::string> bytes, Done done) = 0;
  virtual void ping(Done done) = 0;
  virtual void query(std::string subject, std::string record, Done done) = 0;
  /// launch_server_instance: start a server ("daemon") inferlet listening on `port` of the Pie
  /// host; `done` gets the server's reply text. No instance is attached (Pie tracks none).
  virtual void launch_server(std::uint32_t port, std::string inferlet, std::vector<std::string> arguments,
                             Done done) {
    (void)port, (void)inferlet, (void)arguments;
    done(make_error("launch_server_instance is not supported by this session"));
  }

  /// The protocol line this session speaks.
  virtual Protocol protocol() const { return Protocol::V02; }
  /// Requests sent and not yet answered, and instances attached here (for balancing).
  virtual std::size_t pending_requests() const = 0;
  virtual std::size_t attached_instances() const = 0;
  /// When the last frame (of any kind) arrived on this session, or when it opened: proof of life.
  virtual std::chrono::steady_clock::time_point last_received() const = 0;
};

/// A session speaking Pie v0.2 over ws://host:port/path.
Session::Ptr make_session_v02(boost::asio::any_io_executor ex, SessionOptions opts);
/// A session speaking the Pie 0.5 line (0.5 edge, 0.5 direct, 0.4.0) over ws://host:port/path.
Session::Ptr make_session_v05(boost::asio::any_io_executor ex, SessionOptions opts);
/// The session for opts.protocol.
Session::Ptr make_session(boost::asio::any_io_executor ex, SessionOptions opts);

}  // namespace pg::pie
