// Plain HTTP request/response values: what front doors see, free of Beast types.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pg::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// Case-insensitive header lookup; "" when absent.
std::string_view find_header(const Headers& h, std::string_view name);

struct Request {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // "/echo?text=hi"
  std::string path;    // "/echo" (not percent-decoded)
  std::string query;   // "text=hi" (no '?')
  Headers headers;
  std::string body;
  std::string remote;  // peer address, for logs

  std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

struct Response {
  int status = 200;
  std::string content_type;  // set as-is (TARP clients compare it exactly)
  Headers headers;           // extra headers
  std::string body;
  bool close = false;        // close the connection after sending
};

/// Every request's response, called exactly once, on the server's executor.
using Responder = std::function<void(Response)>;

class Handler {
 public:
  virtual ~Handler() = default;
  virtual void handle(Request req, Responder respond) = 0;
  /// The body of an error the transport itself detects (malformed HTTP, too large, ...).
  virtual Response transport_error(int status, std::string_view type, std::string_view message) = 0;
};

}  // namespace pg::http
