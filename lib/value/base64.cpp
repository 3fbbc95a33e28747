#include "value/base64.hpp"

#include <array>
#include <cstdint>

namespace pg {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}
constexpr auto kTable = make_table();

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string describe(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7F) return std::string("'") + c + "'";
  static constexpr char hex[] = "0123456789abcdef";
  return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
}

}  // namespace

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(data[k])); };
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t n = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (data.size() - i == 1) {
    const std::uint32_t n = byte(i) << 16;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (data.size() - i == 2) {
    const std::uint32_t n = byte(i) << 16 | byte(i + 1) << 8;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t quad[4];
  int filled = 0;   // characters in the current group of four
  int padding = 0;  // '=' seen (only in the last group)
  std::size_t chars = 0;
  for (std::size_t pos = 0; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (is_space(c)) continue;
    ++chars;
    if (padding > 0 && c != '=')
      return make_error("invalid base64: " + describe(c) + " at position " + std::to_string(pos) + " after '=' padding");
    if (c == '=') {
      if (filled < 2)
        return make_error("invalid base64: '=' at position " + std::to_string(pos) + " where a data character is required");
      ++padding;
      quad[filled++] = 0;
    } else {
      const int v = kTable[static_cast<unsigned char>(c)];
      if (v < 0) return make_error("invalid base64: " + describe(c) + " at position " + std::to_string(pos) + " is not in the standard alphabet");
      quad[filled++] = static_cast<std::uint32_t>(v);
    }
    if (filled == 4) {
      const std::uint32_t n = quad[0] << 18 | quad[1] << 12 | quad[2] << 6 | quad[3];
      out += static_cast<char>(n >> 16);
      if (padding < 2) out += static_cast<char>((n >> 8) & 0xFF);
      if (padding < 1) out += static_cast<char>(n & 0xFF);
      if ((padding == 1 && (n & 0xFF) != 0) || (padding == 2 && (n & 0xFFFF) != 0))
        return make_error("invalid base64: non-zero unused bits before the '=' padding (not canonical base64)");
      filled = 0;
    }
  }
  if (filled != 0)
    return make_error("invalid base64: " + std::to_string(chars) + " characters is not a multiple of 4 (missing '=' padding?)");
  return out;
}

}  // namespace pg
