#include "util.hpp"

#include <cstdint>
#include <random>

namespace pie_sim {

std::size_t utf8_prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s.size();
  std::size_t n = max;
  // Back up over continuation bytes (at most 3) so that s[n] starts a sequence.
  for (int i = 0; i < 3 && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80; ++i) --n;
  return n;
}

std::string new_uuid_v4() {
  static std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 32; ++i) {
    const std::uint64_t word = i < 16 ? hi : lo;
    const int shift = 60 - 4 * (i % 16);
    if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
    out.push_back(kHex[(word >> shift) & 0xF]);
  }
  return out;
}

std::optional<std::string> normalize_uuid(std::string_view text) {
  std::string hex;
  if (text.size() == 36) {
    for (std::size_t i = 0; i < 36; ++i) {
      const bool dash_pos = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash_pos != (text[i] == '-')) return std::nullopt;
      if (!dash_pos) hex.push_back(text[i]);
    }
  } else if (text.size() == 32) {
    hex = std::string(text);
  } else {
    return std::nullopt;
  }
  std::string out;
  for (std::size_t i = 0; i < hex.size(); ++i) {
    char c = hex[i];
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
    if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
    out.push_back(c);
  }
  return out;
}

}  // namespace pie_sim
