// Integers of any size, as Python's int: sign and magnitude. Exact round trips to pickle's LONG1/LONG4
// payload (little-endian two's complement) and to decimal text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace pg::value {

class BigInt {
 public:
  BigInt() = default;  // zero
  static BigInt from_int64(std::int64_t v);
  static BigInt from_uint64(std::uint64_t v);
  /// Little-endian two's complement bytes, as in pickle's LONG1/LONG4 (empty means 0).
  static BigInt from_twos_complement(std::string_view le_bytes);
  /// Decimal text: an optional '+' or '-' then one or more digits, nothing else.
  static Result<BigInt> from_decimal(std::string_view text);

  /// Shortest little-endian two's complement (what CPython's pickle writes; "" for 0).
  std::string to_twos_complement() const;
  std::string to_decimal() const;
  std::optional<std::int64_t> to_int64() const;
  std::optional<std::uint64_t> to_uint64() const;

  bool negative() const { return negative_; }
  bool is_zero() const { return limbs_.empty(); }
  /// Magnitude in 32-bit limbs, least significant first, no leading zero limbs.
  const std::vector<std::uint32_t>& limbs() const { return limbs_; }

  friend bool operator==(const BigInt&, const BigInt&) = default;

 private:
  void normalize();
  bool negative_ = false;
  std::vector<std::uint32_t> limbs_;
};

}  // namespace pg::value
