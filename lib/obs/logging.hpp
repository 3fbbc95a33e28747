// Logs: spdlog to stderr (journald adds its own timestamps and unit), as text or as one JSON
// object per line; and the one access line per request that every front door writes.
#pragma once

#include <string>
#include <string_view>

namespace pg::obs {

enum class LogFormat { Text, Json };

/// Install the default logger on stderr in `format`. Safe to call again (reload changes format).
void setup_logging(LogFormat format);

/// What one request did, for its access line.
struct RequestLog {
  std::string_view request_id{};
  std::string_view door{};         // "http" or "grpc"
  std::string_view method{};       // HTTP method, or the gRPC method name ("Call")
  std::string_view target{};       // HTTP path (no query: it may hold secrets), or "" for gRPC
  std::string_view endpoint{};     // configured endpoint, or "" for built-in routes
  std::string_view server{};       // Pie server that ran it, or ""
  std::string_view instance_id{};  // Pie instance, or ""
  std::string_view job_id{};       // the job, or ""
  int status = 0;                // HTTP status, or the gRPC status code
  std::string_view status_text{};  // gRPC code name ("OK", "NOT_FOUND"...), or "" for HTTP
  double seconds = 0;
  std::string_view remote{};       // peer address
  std::string_view client{};       // the caller's client name (access/), "" when access is off
  std::string_view peer_cn{};      // verified client certificate's subject CN, or ""
};
/// One info line (text: `key=value` pairs; JSON: one object with those keys).
void log_request(const RequestLog& r);

/// A caller's X-Request-Id (or gRPC `x-request-id`) when it is sane (1-128 printable ASCII, no
/// spaces or quotes), else a fresh random id (32 hex digits).
std::string request_id_or_new(std::string_view offered);

}  // namespace pg::obs
