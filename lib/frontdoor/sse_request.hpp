// What an event-stream request asks for, read from the request alone: pure functions (no job,
// no I/O), so that they can be tested and fuzzed on their own.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "http/message.hpp"

namespace pg::frontdoor {

/// True when the request asks for an event stream (its Accept names text/event-stream).
bool wants_event_stream(const http::Request& req);

/// A Last-Event-ID as the gateway sends them: "N" (an event index), "<job>:N", or "<job>" (the
/// leading `job` event of a call: resume from the start).
struct LastEventId {
  std::string job;                   // "" for the plain "N" form
  std::optional<std::size_t> index;  // none for "<job>"
};
/// From the Last-Event-ID header, else (with `query_too`) the `last_event_id` query parameter,
/// for clients that cannot set headers; nullopt when none is given.
Result<std::optional<LastEventId>> last_event_id(const http::Request& req, bool query_too);

}  // namespace pg::frontdoor
