// Pie v0.2 messages <-> msgpack bytes (one named map per message, "type" first).
// Pure functions: no sockets, no state. Decoding never throws; hostile input is bounded.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "pie/v02/messages.hpp"

namespace pg::pie::v02 {

/// Largest frame either side accepts (the 0.2 clients cap frames near 1 MiB; 256 KiB chunks
/// plus framing and a flushed 1 MiB output buffer must fit).
inline constexpr std::size_t kMaxFrameBytes = 4 * 1024 * 1024;

std::string encode(const ClientMessage& m);
std::string encode(const ServerMessage& m);

/// Decode one binary frame sent by a client. The error names the type and field at fault.
Result<ClientMessage> decode_client(std::string_view bytes);
/// Decode one binary frame sent by a server.
Result<ServerMessage> decode_server(std::string_view bytes);

}  // namespace pg::pie::v02
