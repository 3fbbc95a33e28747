// What an event-stream request asks for, read from the request alone (no job, no I/O): whether
// it wants a stream, and where it resumes (Last-Event-ID).
#include "frontdoor/sse_request.hpp"

#include <charconv>

#include "jobs/job_id.hpp"
#include "tarp/query.hpp"

namespace pg::frontdoor {

bool wants_event_stream(const http::Request& req) {
  return req.header("Accept").find("text/event-stream") != std::string_view::npos;
}

Result<std::optional<LastEventId>> last_event_id(const http::Request& req, bool query_too) {
  std::string text(req.header("Last-Event-ID"));
  if (text.empty() && query_too)
    for (auto& [k, values] : tarp::parse_query(req.query))
      if (k == "last_event_id" && !values.empty()) text = values.back();
  if (text.empty()) return std::optional<LastEventId>{};
  LastEventId out;
  std::string_view num = text;
  if (auto colon = text.rfind(':'); colon != std::string::npos) {
    out.job = text.substr(0, colon);
    num = std::string_view(text).substr(colon + 1);
  } else if (jobs::JobId::parse(text)) {
    out.job = text;  // "<job>": the leading event of a call
    return std::optional<LastEventId>{out};
  }
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
  if (ec != std::errc{} || p != num.data() + num.size() || num.empty())
    return make_error("Last-Event-ID '" + text + "' is not an event id this gateway sent (N, <job>:N or <job>)");
  out.index = n;
  return std::optional<LastEventId>{out};
}

}  // namespace pg::frontdoor
