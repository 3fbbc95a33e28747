// pie-sim's settings, filled from the command line (main.cpp) and read by every part.
#pragma once

#include <cstdint>
#include <string>

namespace pie_sim {

enum class AuthMode { None, Token, Keys };

struct SimConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;

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
  bool drop_flush = false;        // drop_after: detach first and send what was queued, then drop
  std::int64_t stall_after = -1;  // stop reading/answering a session after receiving N messages on it
  bool refuse_launches = false;
  std::uint32_t reply_delay_ms = 0;  // delay the handling (hence the reply) of every request

  bool verbose = false;
};

}  // namespace pie_sim
