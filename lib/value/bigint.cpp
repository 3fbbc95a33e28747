#include "value/bigint.hpp"

#include <algorithm>

namespace pg::value {

void BigInt::normalize() {
  while (!limbs_.empty() && limbs_.back() == 0) limbs_.pop_back();
  if (limbs_.empty()) negative_ = false;
}

BigInt BigInt::from_uint64(std::uint64_t v) {
  BigInt b;
  b.limbs_ = {static_cast<std::uint32_t>(v), static_cast<std::uint32_t>(v >> 32)};
  b.normalize();
  return b;
}

BigInt BigInt::from_int64(std::int64_t v) {
  const std::uint64_t mag = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  BigInt b = from_uint64(mag);
  b.negative_ = v < 0;
  return b;
}

BigInt BigInt::from_twos_complement(std::string_view le) {
  BigInt b;
  if (le.empty()) return b;
  const bool neg = (static_cast<unsigned char>(le.back()) & 0x80) != 0;
  b.limbs_.assign((le.size() + 3) / 4, 0);
  unsigned carry = 1;  // negation: invert every byte, then add one
  for (std::size_t i = 0; i < le.size(); ++i) {
    unsigned byte = static_cast<unsigned char>(le[i]);
    if (neg) {
      byte = (~byte & 0xFF) + carry;
      carry = byte >> 8;
      byte &= 0xFF;
    }
    b.limbs_[i / 4] |= static_cast<std::uint32_t>(byte) << (8 * (i % 4));
  }
  b.negative_ = neg;
  b.normalize();
  return b;
}

Result<BigInt> BigInt::from_decimal(std::string_view text) {
  bool neg = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    neg = text[0] == '-';
    text.remove_prefix(1);
  }
  if (text.empty()) return make_error("no digits");
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return make_error("not a decimal integer");
  BigInt b;
  // Nine digits at a time: limbs = limbs * 10^k + chunk.
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t k = std::min<std::size_t>(9, text.size() - i);
    std::uint64_t chunk = 0, scale = 1;
    for (std::size_t j = 0; j < k; ++j, ++i) {
      chunk = chunk * 10 + static_cast<std::uint64_t>(text[i] - '0');
      scale *= 10;
    }
    std::uint64_t carry = chunk;
    for (auto& limb : b.limbs_) {
      const std::uint64_t t = static_cast<std::uint64_t>(limb) * scale + carry;
      limb = static_cast<std::uint32_t>(t);
      carry = t >> 32;
    }
    if (carry != 0) b.limbs_.push_back(static_cast<std::uint32_t>(carry));
  }
  b.negative_ = neg;
  b.normalize();
  return b;
}

std::string BigInt::to_twos_complement() const {
  std::string out;
  if (limbs_.empty()) return out;
  for (std::uint32_t limb : limbs_)
    for (int k = 0; k < 4; ++k) out += static_cast<char>((limb >> (8 * k)) & 0xFF);
  while (out.size() > 1 && out.back() == 0) out.pop_back();  // magnitude bytes, shortest
  if (!negative_) {
    if (static_cast<unsigned char>(out.back()) & 0x80) out += '\0';
    return out;
  }
  unsigned carry = 1;
  for (auto& c : out) {
    unsigned byte = (~static_cast<unsigned>(static_cast<unsigned char>(c)) & 0xFF) + carry;
    carry = byte >> 8;
    c = static_cast<char>(byte & 0xFF);
  }
  if (!(static_cast<unsigned char>(out.back()) & 0x80)) out += '\xFF';
  return out;
}

std::string BigInt::to_decimal() const {
  if (limbs_.empty()) return "0";
  std::vector<std::uint32_t> work = limbs_;
  std::vector<std::uint32_t> chunks;  // base 10^9, least significant first
  while (!work.empty()) {
    std::uint64_t rem = 0;
    for (std::size_t i = work.size(); i-- > 0;) {
      const std::uint64_t cur = (rem << 32) | work[i];
      work[i] = static_cast<std::uint32_t>(cur / 1000000000u);
      rem = cur % 1000000000u;
    }
    chunks.push_back(static_cast<std::uint32_t>(rem));
    while (!work.empty() && work.back() == 0) work.pop_back();
  }
  std::string out = negative_ ? "-" : "";
  out += std::to_string(chunks.back());
  for (std::size_t i = chunks.size() - 1; i-- > 0;) {
    std::string part = std::to_string(chunks[i]);
    out.append(9 - part.size(), '0');
    out += part;
  }
  return out;
}

std::optional<std::uint64_t> BigInt::to_uint64() const {
  if (negative_ || limbs_.size() > 2) return std::nullopt;
  std::uint64_t v = 0;
  for (std::size_t i = limbs_.size(); i-- > 0;) v = v << 32 | limbs_[i];
  return v;
}

std::optional<std::int64_t> BigInt::to_int64() const {
  if (limbs_.size() > 2) return std::nullopt;
  std::uint64_t mag = 0;
  for (std::size_t i = limbs_.size(); i-- > 0;) mag = mag << 32 | limbs_[i];
  constexpr std::uint64_t kMaxPos = static_cast<std::uint64_t>(INT64_MAX);
  if (!negative_) return mag <= kMaxPos ? std::optional<std::int64_t>(static_cast<std::int64_t>(mag)) : std::nullopt;
  if (mag > kMaxPos + 1) return std::nullopt;
  return static_cast<std::int64_t>(0 - mag);  // two's complement wrap is well defined since C++20
}

}  // namespace pg::value
