// Pie 0.5-line messages <-> msgpack bytes (one named map per message, "type" first), and the
// edge's JSON text frames. Pure functions: no sockets, no state. Decoding never throws;
// hostile input is bounded (depth, sizes), and extra keys are ignored as the servers do.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "pie/v05/messages.hpp"

namespace pg::pie::v05 {

/// Largest frame either side accepts: a 256 KiB chunk plus framing, or a long event value.
inline constexpr std::size_t kMaxFrameBytes = 4 * 1024 * 1024;

std::string encode(const ClientMessage& m);
std::string encode(const ServerMessage& m);

/// Decode one binary frame sent by a client. The error names the type and field at fault.
/// `chunk_data` is msgpack bin; a str is accepted too (its bytes), an ext (what the npm client
/// makes of a Uint8Array) is refused. Optional fields may be absent or nil; encoding omits them.
Result<ClientMessage> decode_client(std::string_view bytes);
/// Decode one binary frame sent by a server.
Result<ServerMessage> decode_server(std::string_view bytes);

/// Read one text frame of the 0.5 edge (JSON). Never fails: unreadable text is Kind::Other.
TextFrame decode_text(std::string_view text);
/// The edge's text frames, for pie-sim: {"type":"turn_done"} and {"type":"error","message":m}.
std::string encode_turn_done();
std::string encode_text_error(std::string_view message);

}  // namespace pg::pie::v05
