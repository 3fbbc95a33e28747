// Helpers of the Pie codec tests (unit/pie_codec_test.cpp for v0.2, unit/pie_v05_codec_test.cpp
// for 0.5): hand-written hex <-> bytes, unwrapping decode results, round trips, hostile frames.
// Header-only; the codec is the caller's.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pg::test {

/// "82 a4 74 79" -> bytes; spaces and newlines are ignored.
inline std::string hex(std::string_view h) {
  std::string out;
  int hi = -1;
  for (char c : h) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<char>(hi * 16 + v));
      hi = -1;
    }
  }
  EXPECT_LT(hi, 0) << "odd number of hex digits";
  return out;
}

inline std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

/// The bytes of hex pieces, one after the other.
inline std::string cat(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (auto p : parts) s += hex(p);
  return s;
}

/// The decoded message as a T (a default T, and the test fails, if it is an error or another type).
/// By value: the Result is usually a temporary.
template <typename T, typename R>
T as(const R& r) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
  if (!r.ok() || !std::holds_alternative<T>(r.value())) return T{};
  return std::get<T>(r.value());
}

/// The error of a decode that must fail ("<decoded>", and the test fails, if it did not).
template <typename R>
std::string error_of(const R& r) {
  EXPECT_FALSE(r.ok());
  return r.ok() ? std::string("<decoded>") : r.error();
}

/// Frames that stress the msgpack reader's bounds; every codec refuses each as "not valid msgpack"
/// without recursing or allocating per level: nesting 100000 deep (arrays; maps under "type"),
/// and an array32 and a map32 declaring 2^32-1 entries with almost no data.
inline std::vector<std::string> unbounded_frames() {
  std::string deep(100000, '\x91');
  deep += '\x01';
  std::string deep_maps = cat({"81", "a4 74797065"});
  for (int i = 0; i < 50000; ++i) deep_maps += hex("81 a1 61");
  deep_maps += hex("01");
  return {deep, deep_maps, hex("dd ffffffff 01"), hex("df ffffffff a1 61 01")};
}

/// Every 1- and 2-byte prefix shape (first byte 0-255, second in steps of 17): nothing may crash.
inline std::vector<std::string> two_byte_frames() {
  std::vector<std::string> out;
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; b += 17) out.push_back(std::string{static_cast<char>(a), static_cast<char>(b)});
  }
  return out;
}

/// Encodes `m`, decodes it with `decode` and encodes that again: the same message and the same
/// bytes (every field is encoded, so equal re-encodings mean equal messages). `encode` and
/// `type_name` are the codec's, found through the message's namespace.
template <typename Msg, typename Decode>
void round_trip(const Msg& m, Decode decode) {
  const auto bytes = encode(m);
  auto d = decode(bytes);
  ASSERT_TRUE(d.ok()) << type_name(m) << ": " << d.error();
  EXPECT_EQ(d->index(), m.index()) << type_name(m);
  EXPECT_EQ(to_hex(encode(*d)), to_hex(bytes)) << type_name(m);
}

}  // namespace pg::test
