// Standard base64 (RFC 4648 section 4: A-Z a-z 0-9 + /, '=' padding), strict on input.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace pg {

/// Padded standard base64 of `data`.
std::string base64_encode(std::string_view data);

/// Decodes padded standard base64. ASCII whitespace (space, tab, CR, LF) anywhere is ignored; anything
/// else is strict: only the standard alphabet, length a multiple of 4, '=' only as the final one or two
/// characters, and unused bits of the last character zero (so every input has one canonical text).
Result<std::string> base64_decode(std::string_view text);

}  // namespace pg
