// The ids a client sends (lib/frontdoor/sse_request.cpp, lib/obs/logging.cpp, lib/jobs/job_id.cpp):
// Last-Event-ID from the header or the last_event_id query parameter, X-Request-Id, and job ids
// (which name jobs in paths: gateway/jobs/<id>/...). A job id that parses prints back as itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <strings.h>

#include "frontdoor/sse_request.hpp"
#include "jobs/job_id.hpp"
#include "obs/logging.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pg;
  std::string in(reinterpret_cast<const char*>(data), size);
  http::Request header;
  header.headers.emplace_back("Last-Event-ID", in);
  (void)frontdoor::last_event_id(header, false);
  http::Request query;
  query.query = in;
  (void)frontdoor::last_event_id(query, true);
  auto rid = obs::request_id_or_new(in);
  if (rid.empty() || rid.size() > 128) std::abort();
  if (auto id = jobs::JobId::parse(in)) {
    if (strcasecmp(id->str().c_str(), in.c_str()) != 0) std::abort();
  }
  return 0;
}
