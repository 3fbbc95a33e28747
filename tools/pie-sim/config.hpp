// pie-sim's settings, filled from the command line (main.cpp) and read by every part.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pie_sim {

enum class AuthMode { None, Token, Keys };
/// Which Pie client protocol pie-sim speaks: the 0.2 line, or the 0.5 edge dialect.
enum class ProtocolLine { V02, V05 };

struct SimConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  /// Both set: serve wss:// (TLS 1.2+) with this PEM certificate chain and unencrypted PEM key.
  std::string tls_cert;
  std::string tls_key;

  ProtocolLine protocol = ProtocolLine::V02;
  /// 0.5: on socket close, detach the socket's processes instead of terminating them.
  bool detach_on_close = false;
  /// 0.5: with this many live processes, every new request is refused (text error, then close).
  std::size_t max_processes = 256;
  /// A larger incoming message ends its WebSocket (close 1009, then gone), as a Pie server's frame
  /// limit does: every instance of that session goes with it.
  std::size_t max_frame_bytes = 4u << 20;

  AuthMode auth = AuthMode::None;
  /// The internal token. Empty in `--auth none` mode means "any token is accepted".
  std::string token;
  std::string authorized_users_file;  // AuthMode::Keys

  /// Delay between the pseudo-tokens of std/text-completion.
  std::uint32_t token_delay_ms = 0;
  /// A wrong internal token is answered after a random delay in [min, max] ms.
  std::uint32_t bad_token_delay_min_ms = 1000;
  std::uint32_t bad_token_delay_max_ms = 3000;

  // Fault injection (negative = off).
  std::int64_t drop_after = -1;   // abruptly close a session after the server sent N messages on it
  bool drop_flush = false;        // drop_after: detach first and send what was queued, then drop (0.5 too)
  std::int64_t stall_after = -1;  // stop reading/answering a session after receiving N messages on it
  bool refuse_launches = false;
  std::uint32_t reply_delay_ms = 0;  // delay the handling (hence the reply) of every request

  bool verbose = false;
};

}  // namespace pie_sim
