// Credentials as callers present them: `Authorization: Bearer TOKEN`, or HTTP Basic auth whose
// password is the token (what an unchanged TARP client sends for https://user:TOKEN@host, or
// from ~/.netrc). gRPC metadata `authorization` carries the same values.
#pragma once

#include <string>
#include <string_view>

namespace pg::access {

struct Credential {
  enum class Kind { None, Token, Malformed };
  Kind kind = Kind::None;
  std::string token;  // Kind::Token
  std::string why;    // Kind::Malformed: what is wrong (never the value itself)
};

/// The token in an Authorization header value ("" = no header). Schemes are case-insensitive;
/// Basic takes the password after the first ':' (any user name). At most 4 KiB is looked at.
Credential parse_authorization(std::string_view header);

}  // namespace pg::access
