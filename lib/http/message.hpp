// Plain HTTP request/response values: what front doors see, free of Beast types.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pg::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// Case-insensitive header lookup; "" when absent.
std::string_view find_header(const Headers& h, std::string_view name);

struct Request {
  std::string method;  // "GET", "POST", ... as sent; "GET" for a HEAD (see `head`)
  std::string target;  // "/echo?text=hi"
  std::string path;    // "/echo" (not percent-decoded)
  std::string query;   // "text=hi" (no '?')
  Headers headers;
  std::string body;
  std::string remote;  // peer address, for logs
  std::string peer_cn;  // the verified client certificate's subject CN ("" = none; HTTPS only)
  /// The client sent HEAD: the request is handled exactly as a GET and the server drops the
  /// answer's body (its status and headers, Content-Length included, are sent).
  bool head = false;
  /// Registers a callback that runs once, on the server's executor, if the client goes away
  /// before this request's response is complete (also while it streams). Watching costs a read
  /// on the socket, so the server only starts when someone asks. Unset outside a server.
  std::function<void(std::function<void()>)> on_client_gone;

  std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

class Stream;

struct Response {
  int status = 200;
  std::string content_type;  // set as-is (TARP clients compare it exactly)
  Headers headers;           // extra headers
  std::string body;
  bool close = false;        // close the connection after sending
  /// Set to stream the body instead of sending `body`: the head (status, content type, headers)
  /// goes out at once with chunked transfer encoding, then this runs with the stream to write to.
  std::function<void(std::shared_ptr<Stream>)> stream;

  /// Never sent: what served the request, for its access log line.
  struct Trace {
    std::string job, server, instance;
  };
  Trace trace;
};

/// A response body written over time (Server-Sent Events). Use it on the server's executor only.
/// Dropping the last reference without end() ends the body.
class Stream {
 public:
  virtual ~Stream() = default;
  /// Queue body bytes; `written` (optional) runs once they are handed to the socket (pace
  /// yourself by it). After the stream is over, data is dropped and `written` never runs.
  virtual void write(std::string data, std::function<void()> written = {}) = 0;
  /// The body is complete: the connection goes on with its next request, or closes.
  virtual void end() = 0;
  /// Write `bytes` whenever nothing was written for `every` (SSE comments keep proxies awake).
  virtual void heartbeat(std::chrono::milliseconds every, std::string bytes) = 0;
  /// Runs once when the stream is over: `true` once end() went out, `false` when the client went
  /// away or the connection failed first. Several may be registered.
  virtual void on_done(std::function<void(bool complete)> fn) = 0;
  /// Runs (once) when the server stops (graceful shutdown) while the stream is open; without
  /// one, the stream is ended then. Register it from the Response::stream callback.
  virtual void on_stop(std::function<void()> fn) = 0;
  /// True once the stream is over (ended, or the client went away).
  virtual bool closed() const = 0;
};

/// Every request's response, called exactly once, on the server's executor.
using Responder = std::function<void(Response)>;

class Handler {
 public:
  virtual ~Handler() = default;
  virtual void handle(Request req, Responder respond) = 0;
  /// The body of an error the transport itself detects (malformed HTTP, too large, ...).
  virtual Response transport_error(int status, std::string_view type, std::string_view message) = 0;
  /// A TLS handshake failed (the connection is closed; its cause is logged at debug).
  virtual void tls_handshake_failed() {}
};

}  // namespace pg::http
