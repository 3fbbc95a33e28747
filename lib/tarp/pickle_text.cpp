#include "tarp/pickle_text.hpp"

#include <charconv>

#include "value/utf8.hpp"

namespace pg::tarp::detail {

namespace {
int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool parse_int_text(std::string_view text, std::size_t max_digits, value::Value& out, std::string& err) {
  std::string_view digits = text;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) digits.remove_prefix(1);
  if (digits.size() > max_digits) {
    err = "an integer of " + std::to_string(digits.size()) + " digits is over the limit of " + std::to_string(max_digits);
    return false;
  }
  if (digits.size() > 1 && digits[0] == '0') {
    err = "integer text with a leading zero";
    return false;
  }
  auto big = value::BigInt::from_decimal(text);
  if (!big) {
    err = "'" + std::string(text.substr(0, 40)) + "' is not a decimal integer";
    return false;
  }
  out = value::Value::big(std::move(big).value());
  return true;
}

bool parse_float_text(std::string_view text, double& out, std::string& err) {
  std::string_view t = text;
  if (!t.empty() && t[0] == '+') t.remove_prefix(1);  // from_chars takes '-' but not '+'
  if (!t.empty() && t[0] != '+' && !(t[0] == '-' && text[0] == '+')) {
    const auto res = std::from_chars(t.data(), t.data() + t.size(), out, std::chars_format::general);
    if (res.ptr == t.data() + t.size() && res.ec == std::errc()) return true;
  }
  err = "'" + std::string(text.substr(0, 40)) + "' is not a float (or is out of range)";
  return false;
}

bool decode_string_literal(std::string_view text, std::string& out, std::string& err) {
  if (text.size() < 2 || text.front() != text.back() || (text.front() != '\'' && text.front() != '"')) {
    err = "the STRING argument must be quoted";
    return false;
  }
  const std::string_view s = text.substr(1, text.size() - 2);
  out.clear();
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i == s.size()) {
      err = "trailing \\ in a STRING literal";
      return false;
    }
    const char c = s[i];
    switch (c) {
      case '\n': break;  // line continuation
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case 'x': {
        const int hi = i + 1 < s.size() ? hex_digit(s[i + 1]) : -1;
        const int lo = i + 2 < s.size() ? hex_digit(s[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
          err = "invalid \\x escape in a STRING literal";
          return false;
        }
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      default:
        if (c >= '0' && c <= '7') {  // up to three octal digits
          int v = c - '0';
          for (int k = 0; k < 2 && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7'; ++k) v = v * 8 + (s[++i] - '0');
          out += static_cast<char>(v & 0xFF);
        } else {
          out += '\\';  // unknown escapes stay as written
          out += c;
        }
    }
  }
  return true;
}

bool decode_raw_unicode_escape(std::string_view s, std::string& out, std::string& err) {
  out.clear();
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c != '\\' || i + 1 == s.size() || (s[i + 1] != 'u' && s[i + 1] != 'U')) {
      value::utf8_append(out, c);  // latin-1
      if (c == '\\' && i + 1 < s.size()) value::utf8_append(out, static_cast<unsigned char>(s[++i]));
      continue;
    }
    const std::size_t n = s[i + 1] == 'u' ? 4 : 8;
    if (i + 2 + n > s.size()) {
      err = "truncated \\u escape";
      return false;
    }
    char32_t cp = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const int d = hex_digit(s[i + 2 + k]);
      if (d < 0) {
        err = "truncated \\u escape";
        return false;
      }
      cp = cp * 16 + static_cast<char32_t>(d);
    }
    if (cp > 0x10FFFF) {
      err = "\\U escape beyond U+10FFFF";
      return false;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) {
      err = "a lone surrogate (a str that is not valid Unicode text)";
      return false;
    }
    value::utf8_append(out, cp);
    i += 1 + n;
  }
  return true;
}

}  // namespace pg::tarp::detail
