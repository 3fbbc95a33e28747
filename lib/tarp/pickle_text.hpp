// The text arguments of protocol-0 opcodes (private to lib/tarp/pickle_*.cpp). Each returns false with
// a short reason in `err`.
#pragma once

#include <string>
#include <string_view>

#include "value/value.hpp"

namespace pg::tarp::detail {

/// INT/LONG argument: [+-]?digits, no leading zeros (Python's int(s, 0) would refuse them), at most
/// `max_digits` digits -> Int or BigInt.
bool parse_int_text(std::string_view text, std::size_t max_digits, value::Value& out, std::string& err);

/// FLOAT argument as Python's float() reads repr() output: 0.1, -1e+300, inf, -inf, nan.
bool parse_float_text(std::string_view text, double& out, std::string& err);

/// STRING argument: a quoted Python 2 str literal ('abc' or "abc") with backslash escapes -> its bytes.
bool decode_string_literal(std::string_view text, std::string& out, std::string& err);

/// UNICODE argument (raw-unicode-escape: latin-1 bytes plus \uXXXX and \UXXXXXXXX) -> UTF-8.
bool decode_raw_unicode_escape(std::string_view text, std::string& out, std::string& err);

}  // namespace pg::tarp::detail
