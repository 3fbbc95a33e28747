#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <random>

#include "value/base64.hpp"
#include "value/utf8.hpp"
#include "value/value.hpp"

using pg::value::BigInt;
using pg::value::Kind;
using pg::value::Value;
using json = nlohmann::json;

namespace {
Value I(std::int64_t i) { return Value::integer(i); }
Value S(std::string s) { return Value::str(std::move(s)); }
Value big(std::string_view decimal) { return Value::big(BigInt::from_decimal(decimal).value()); }
}  // namespace

TEST(BigInt, DecimalRoundTrip) {
  for (const char* s : {"0", "1", "-1", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
                        "-9223372036854775809", "18446744073709551616", "-1267650600228229401496703205376",
                        "340282366920938463463374607431768211456"}) {
    auto b = BigInt::from_decimal(s);
    ASSERT_TRUE(b) << s;
    EXPECT_EQ(b->to_decimal(), s);
    EXPECT_EQ(BigInt::from_twos_complement(b->to_twos_complement()), *b) << s;
  }
  std::string ten400 = "1" + std::string(400, '0');
  EXPECT_EQ(BigInt::from_decimal(ten400)->to_decimal(), ten400);
  EXPECT_EQ(BigInt::from_decimal("-" + ten400)->to_decimal(), "-" + ten400);
  EXPECT_EQ(BigInt::from_decimal("+42")->to_decimal(), "42");
  EXPECT_EQ(BigInt::from_decimal("-0")->to_decimal(), "0");
  EXPECT_EQ(BigInt::from_decimal("000123")->to_decimal(), "123");
  for (const char* bad : {"", "-", "+", "1a", " 1", "1 ", "0x10", "1_000", "--1"}) EXPECT_FALSE(BigInt::from_decimal(bad)) << bad;
}

TEST(BigInt, TwosComplementMatchesCPython) {
  // CPython's pickle.encode_long, by hand.
  const std::vector<std::pair<std::int64_t, std::string>> cases = {
      {0, ""}, {1, "\x01"}, {-1, "\xff"}, {127, "\x7f"}, {128, std::string("\x80\x00", 2)}, {255, std::string("\xff\x00", 2)},
      {-128, "\x80"}, {-129, "\x7f\xff"}, {-256, std::string("\x00\xff", 2)}, {256, std::string("\x00\x01", 2)},
      {-32768, std::string("\x00\x80", 2)}, {32767, "\xff\x7f"}};
  for (const auto& [v, enc] : cases) {
    EXPECT_EQ(BigInt::from_int64(v).to_twos_complement(), enc) << v;
    EXPECT_EQ(BigInt::from_twos_complement(enc).to_int64(), v) << v;
  }
  // Non-minimal encodings still read right.
  EXPECT_EQ(BigInt::from_twos_complement(std::string("\x01\x00\x00", 3)).to_int64(), 1);
  EXPECT_EQ(BigInt::from_twos_complement("\xff\xff\xff").to_int64(), -1);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(1 + rng() % 40, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    const BigInt b = BigInt::from_twos_complement(bytes);
    EXPECT_EQ(BigInt::from_twos_complement(b.to_twos_complement()), b);
    EXPECT_EQ(BigInt::from_decimal(b.to_decimal()).value(), b);
  }
}

TEST(BigInt, Int64Edges) {
  EXPECT_EQ(BigInt::from_int64(INT64_MIN).to_decimal(), "-9223372036854775808");
  EXPECT_EQ(BigInt::from_int64(INT64_MIN).to_int64(), INT64_MIN);
  EXPECT_FALSE(BigInt::from_decimal("9223372036854775808")->to_int64());
  EXPECT_EQ(BigInt::from_decimal("18446744073709551615")->to_uint64(), UINT64_MAX);
  EXPECT_FALSE(BigInt::from_decimal("18446744073709551616")->to_uint64());
  EXPECT_FALSE(BigInt::from_decimal("-1")->to_uint64());
  // Value::big normalizes: one form per integer.
  EXPECT_EQ(Value::big(BigInt::from_int64(5)), I(5));
  EXPECT_EQ(Value::big(BigInt::from_int64(INT64_MIN)).kind(), Kind::Int);
  EXPECT_EQ(big("9223372036854775808").kind(), Kind::BigInt);
}

TEST(Value, EqualityIsStructural) {
  EXPECT_EQ(Value(), Value::none());
  EXPECT_NE(Value::list({I(1)}), Value::tuple({I(1)}));
  EXPECT_NE(Value::set({I(1)}), Value::frozenset({I(1)}));
  EXPECT_NE(Value::boolean(true), I(1));
  EXPECT_NE(I(1), Value::real(1.0));
  EXPECT_NE(Value::bytes("x"), Value::bytearray("x"));
  EXPECT_NE(Value::bytes("x"), S("x"));
  EXPECT_EQ(Value::real(NAN), Value::real(NAN));
  EXPECT_EQ(Value::real(-0.0), Value::real(0.0));
  EXPECT_EQ(Value::set({I(1), I(2), I(3)}), Value::set({I(3), I(1), I(2)}));
  EXPECT_NE(Value::set({I(1), I(2)}), Value::set({I(1), I(3)}));
  EXPECT_EQ(Value::dict({{S("a"), I(1)}, {S("b"), I(2)}}), Value::dict({{S("b"), I(2)}, {S("a"), I(1)}}));
  EXPECT_NE(Value::dict({{S("a"), I(1)}}), Value::dict({{S("a"), I(2)}}));
  EXPECT_NE(Value::list({I(1), I(2)}), Value::list({I(2), I(1)}));
  EXPECT_EQ(pg::value::hash_value(Value::set({I(1), S("x")})), pg::value::hash_value(Value::set({S("x"), I(1)})));
  // Large unordered sets use the hash path.
  pg::value::Items a, b;
  for (int i = 0; i < 5000; ++i) a.push_back(I(i)), b.push_back(I(4999 - i));
  EXPECT_EQ(Value::set(a), Value::set(b));
  b[0] = I(-1);
  EXPECT_NE(Value::set(a), Value::set(b));
}

TEST(Value, AccessorsOnOtherKindsAreNeutral) {
  const Value v = S("x");
  EXPECT_EQ(v.as_int(), 0);
  EXPECT_FALSE(v.as_bool());
  EXPECT_TRUE(v.items().empty());
  EXPECT_TRUE(v.dict_items().empty());
  EXPECT_EQ(v.as_bytes(), "");
  const Value d = Value::dict({{S("k"), I(3)}, {I(1), I(2)}});
  ASSERT_NE(d.find("k"), nullptr);
  EXPECT_EQ(*d.find("k"), I(3));
  EXPECT_EQ(d.find("1"), nullptr);
}

TEST(Value, Repr) {
  EXPECT_EQ(Value().repr(), "None");
  EXPECT_EQ(Value::boolean(true).repr(), "True");
  EXPECT_EQ(I(-12).repr(), "-12");
  EXPECT_EQ(big("-1267650600228229401496703205376").repr(), "-1267650600228229401496703205376");
  EXPECT_EQ(S("it's").repr(), "\"it's\"");
  EXPECT_EQ(S("a\n\\'\"").repr(), "'a\\n\\\\\\'\"'");
  EXPECT_EQ(S("héllo ✓").repr(), "'héllo ✓'");
  EXPECT_EQ(Value::bytes(std::string("\x00\xff" "a'", 4)).repr(), "b\"\\x00\\xffa'\"");
  EXPECT_EQ(Value::bytearray("x").repr(), "bytearray(b'x')");
  EXPECT_EQ(Value::list({I(1), Value::list({I(2)})}).repr(), "[1, [2]]");
  EXPECT_EQ(Value::tuple({}).repr(), "()");
  EXPECT_EQ(Value::tuple({I(1)}).repr(), "(1,)");
  EXPECT_EQ(Value::tuple({I(1), I(2)}).repr(), "(1, 2)");
  EXPECT_EQ(Value::dict({{S("k"), Value()}, {I(1), Value::real(0.5)}}).repr(), "{'k': None, 1: 0.5}");
  EXPECT_EQ(Value::set({}).repr(), "set()");
  EXPECT_EQ(Value::set({I(1)}).repr(), "{1}");
  EXPECT_EQ(Value::frozenset({}).repr(), "frozenset()");
  EXPECT_EQ(Value::frozenset({S("a")}).repr(), "frozenset({'a'})");
}

TEST(Value, FloatReprIsPythons) {
  const std::vector<std::pair<double, std::string>> cases = {
      {0.0, "0.0"}, {-0.0, "-0.0"}, {1.0, "1.0"}, {0.1, "0.1"}, {1.5, "1.5"}, {-2.25, "-2.25"},
      {123456789.0, "123456789.0"}, {1e15, "1000000000000000.0"}, {1e16, "1e+16"}, {1.5e16, "1.5e+16"},
      {0.0001, "0.0001"}, {0.00001, "1e-05"}, {1.25e-7, "1.25e-07"}, {1e308, "1e+308"}, {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"}, {INFINITY, "inf"}, {-INFINITY, "-inf"}, {NAN, "nan"},
      {0.30000000000000004, "0.30000000000000004"}, {1e22, "1e+22"}, {123.456, "123.456"}};
  for (const auto& [d, s] : cases) EXPECT_EQ(pg::value::float_repr(d), s) << s;
}

TEST(Json, ToJson) {
  const Value v = Value::dict({
      {S("none"), Value()},
      {S("t"), Value::boolean(true)},
      {S("i"), I(-5)},
      {S("u64"), big("18446744073709551615")},
      {S("big"), big("-18446744073709551616")},
      {S("f"), Value::real(0.5)},
      {S("nan"), Value::real(NAN)},
      {S("inf"), Value::real(INFINITY)},
      {S("s"), S("héllo")},
      {S("bad"), S("a\xff")},
      {S("b"), Value::bytes(std::string("\x00\xff", 2))},
      {S("ba"), Value::bytearray("hi")},
      {S("seq"), Value::list({Value::tuple({I(1)}), Value::set({}), Value::frozenset({I(2)})})},
  });
  const json j = pg::value::to_json(v);
  EXPECT_EQ(j, json::parse(R"({"none":null,"t":true,"i":-5,"u64":18446744073709551615,"big":"-18446744073709551616",
      "f":0.5,"nan":null,"inf":null,"s":"héllo","bad":"a\ufffd","b":"AP8=","ba":"aGk=","seq":[[1],[],[2]]})"));
  EXPECT_EQ(pg::value::to_json(Value::dict({{I(1), S("x")}, {Value::tuple({I(1), I(2)}), S("y")}})),
            json::parse(R"([[1,"x"],[[1,2],"y"]])"));
  EXPECT_EQ(pg::value::to_json(Value::dict({})), json::object());
}

TEST(Json, FromJson) {
  auto v = pg::value::from_json(json::parse(
      R"({"a":[1,-2,18446744073709551615,1.5,"x",true,null,{}],"b":{"c":-9223372036854775808}})"));
  ASSERT_TRUE(v) << v.error();
  const Value want = Value::dict({
      {S("a"), Value::list({I(1), I(-2), big("18446744073709551615"), Value::real(1.5), S("x"), Value::boolean(true),
                            Value(), Value::dict({})})},
      {S("b"), Value::dict({{S("c"), I(INT64_MIN)}})},
  });
  EXPECT_EQ(*v, want) << v->repr();
  EXPECT_EQ(pg::value::to_json(*v), json::parse(
      R"({"a":[1,-2,18446744073709551615,1.5,"x",true,null,{}],"b":{"c":-9223372036854775808}})"));
  EXPECT_EQ(pg::value::from_json(json::binary({1, 2}))->as_bytes(), std::string("\x01\x02"));

  std::string deep(600, '[');
  deep += std::string(600, ']');
  auto d = pg::value::from_json(json::parse(deep));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error(), "JSON nested deeper than 512 levels");
  EXPECT_TRUE(pg::value::from_json(json::parse(std::string(512, '[') + std::string(512, ']'))));
}

TEST(Json, ToText) {
  using pg::value::to_text;
  EXPECT_EQ(to_text(S("plain ✓")), "plain ✓");
  EXPECT_EQ(to_text(I(-3)), "-3");
  EXPECT_EQ(to_text(big("100000000000000000000")), "100000000000000000000");
  EXPECT_EQ(to_text(Value::real(0.1)), "0.1");
  EXPECT_EQ(to_text(Value::real(2.0)), "2.0");
  EXPECT_EQ(to_text(Value::real(1e16)), "1e+16");
  EXPECT_EQ(to_text(Value::boolean(true)), "true");
  EXPECT_EQ(to_text(Value::boolean(false)), "false");
  EXPECT_EQ(to_text(Value()), "null");
  EXPECT_EQ(to_text(Value::bytes("hi")), "aGk=");
  EXPECT_EQ(to_text(Value::list({I(1), S("a"), Value()})), R"([1,"a",null])");
  EXPECT_EQ(to_text(Value::dict({{S("k"), Value::tuple({I(1)})}})), R"({"k":[1]})");
}

TEST(Base64, EncodeVectors) {
  // RFC 4648 section 10.
  const std::vector<std::pair<std::string, std::string>> v = {{"", ""},         {"f", "Zg=="},     {"fo", "Zm8="},
                                                              {"foo", "Zm9v"},  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                              {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, enc] : v) {
    EXPECT_EQ(pg::base64_encode(plain), enc);
    auto d = pg::base64_decode(enc);
    ASSERT_TRUE(d) << d.error();
    EXPECT_EQ(*d, plain);
  }
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all += static_cast<char>(i);
    EXPECT_EQ(pg::base64_decode(pg::base64_encode(all)).value(), all);
  }
  EXPECT_EQ(pg::base64_encode("\xfb\xff"), "+/8=");
}

TEST(Base64, StrictDecoding) {
  EXPECT_EQ(pg::base64_decode("Zm9v\nYmFy\r\n").value(), "foobar");
  EXPECT_EQ(pg::base64_decode(" Zm 9v\tYg = = ").value(), "foob");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"Zg", "not a multiple of 4"},          {"Zg=", "not a multiple of 4"},
      {"Zh==", "non-zero unused bits"},       {"Zm9=", "non-zero unused bits"},
      {"Zg==Zg==", "after '=' padding"},      {"Z===", "where a data character is required"},
      {"====", "where a data character is required"}, {"Zm-v", "'-' at position 2 is not in the standard alphabet"},
      {"Zm_v", "not in the standard alphabet"}, {"Zm9v\x01", "byte 0x01 at position 4"},
      {"Zg=a", "after '=' padding"},
  };
  for (const auto& [text, fragment] : bad) {
    auto d = pg::base64_decode(text);
    ASSERT_FALSE(d) << text;
    EXPECT_NE(d.error().find(fragment), std::string::npos) << text << ": " << d.error();
  }
}

TEST(Utf8, ValidAndSanitize) {
  using pg::value::utf8_valid;
  EXPECT_TRUE(utf8_valid("héllo ✓ 😀"));
  EXPECT_FALSE(utf8_valid("\xC0\xAF"));          // overlong
  EXPECT_FALSE(utf8_valid("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(utf8_valid("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(utf8_valid("\xE2\x9C"));          // truncated
  EXPECT_EQ(pg::value::utf8_sanitize("a\xffz"), "a\xEF\xBF\xBDz");
}

TEST(ParseJson, KeepsBigIntegersExactAndOrder) {
  auto v = pg::value::parse_json(R"({"b": 123456789012345678901234567890, "a": [1, -2, 18446744073709551615, 0.5, null, true, "x"]})");
  ASSERT_TRUE(v) << v.error();
  EXPECT_EQ(v->repr(), "{'b': 123456789012345678901234567890, 'a': [1, -2, 18446744073709551615, 0.5, None, True, 'x']}");
}

TEST(ParseJson, ErrorsAndDepth) {
  auto bad = pg::value::parse_json("{\"a\": ");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("invalid JSON at byte"), std::string::npos) << bad.error();
  EXPECT_FALSE(pg::value::parse_json(std::string(100000, '[')));
  EXPECT_FALSE(pg::value::parse_json("1 2"));
  EXPECT_TRUE(pg::value::parse_json("-12e3"));
}
