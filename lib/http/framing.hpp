// What a request head must satisfy before its body is read (RFC 9112): one way to find where the
// body ends (Transfer-Encoding: chunked or one Content-Length, never both, never another coding),
// exactly one Host on HTTP/1.1, and a target in origin or absolute form. Pure, no Beast types.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "http/message.hpp"

namespace pg::http {

/// Why a request head is refused: answered with `status` (an envelope of `type`), then the
/// connection is closed (nothing after a bad head can be trusted to be a new request).
struct Refusal {
  int status = 400;
  std::string type = "BadRequest";
  std::string message;
};

/// Transfer-Encoding / Content-Length / Host of a request head of HTTP/1.`minor`.
std::optional<Refusal> check_framing(unsigned minor, const Headers& fields);

struct Target {
  std::string path;       // "/echo" (not percent-decoded)
  std::string query;      // "x=1" (no '?')
  std::string authority;  // absolute form only ("host:port"): it replaces the Host header
};

/// An origin-form ("/echo?x=1"), absolute-form ("http://host:port/echo?x=1") or asterisk-form
/// ("*") request target.
Result<Target> split_target(std::string_view target);

}  // namespace pg::http
