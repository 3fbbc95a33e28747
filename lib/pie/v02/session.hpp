// The Pie v0.2 client session behind pg::pie::make_session_v02 (declared in pie/session.hpp).
//
// Behaviour worth knowing beyond the Session interface:
// - Authentication: AuthConfig::None sends `identification` as "pie-gateway", Username as the
//   given name, Token sends `internal_authenticate`. A server that answers identification with
//   a challenge (public-key auth) fails start() with "server requires public-key authentication".
// - Every request times out after SessionOptions::request_timeout ("timed out after N ms waiting
//   for <reply type>"); a launch that succeeds after its request timed out is terminated at once.
// - Detached launches are not routed here (their output stays on the server until an attach).
// - Blobs are assembled per (instance, hash) and verified with BLAKE3; at most
//   kMaxBlobBytesPerInstance are held per instance, larger blobs are dropped with a warning.
// - Destroying the last Session::Ptr closes the connection without invoking any callback
//   (no done, no on_end, no on_closed): owners that need the callbacks call close() first.
#pragma once

#include <cstddef>

#include "pie/session.hpp"

namespace pg::pie::v02 {

inline constexpr std::size_t kMaxBlobBytesPerInstance = 64 * 1024 * 1024;

}  // namespace pg::pie::v02
