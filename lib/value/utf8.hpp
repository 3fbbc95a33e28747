// Strict UTF-8 helpers shared by the value layer and the pickle codec.
#pragma once

#include <string>
#include <string_view>

namespace pg::value {

/// True for well-formed UTF-8: no overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
bool utf8_valid(std::string_view s);

/// `s` with every ill-formed byte sequence replaced by U+FFFD (a copy of `s` when it is valid).
std::string utf8_sanitize(std::string_view s);

/// Appends code point `cp` (<= U+10FFFF, not a surrogate) as UTF-8.
void utf8_append(std::string& out, char32_t cp);

}  // namespace pg::value
