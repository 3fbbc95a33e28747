#include "pickle_corpus.hpp"

#include <cmath>

namespace pg::test {

namespace {
using value::BigInt;
using value::Value;
Value I(std::int64_t i) { return Value::integer(i); }
Value S(std::string s) { return Value::str(std::move(s)); }
Value big(const std::string& d) { return Value::big(BigInt::from_decimal(d).value()); }
}  // namespace

std::vector<CorpusCase> pickle_corpus() {
  std::vector<CorpusCase> c = {
      {"none", "None", Value()},
      {"true", "True", Value::boolean(true)},
      {"false", "False", Value::boolean(false)},
      {"zero", "0", I(0)},
      {"minus_one", "-1", I(-1)},
      {"i255", "255", I(255)},
      {"i256", "256", I(256)},
      {"i65535", "65535", I(65535)},
      {"i65536", "65536", I(65536)},
      {"i31max", "2**31-1", I(2147483647)},
      {"i31min", "-2**31", I(-2147483648LL)},
      {"i31over", "2**31", I(2147483648LL)},
      {"i63max", "2**63-1", I(INT64_MAX)},
      {"i63min", "-2**63", I(INT64_MIN)},
      {"i63over", "2**63", big("9223372036854775808")},
      {"i64", "2**64", big("18446744073709551616")},
      {"neg_2_100", "-(2**100)", big("-1267650600228229401496703205376")},
      {"ten_400", "10**400", big("1" + std::string(400, '0'))},
      {"neg_ten_400", "-(10**400)", big("-1" + std::string(400, '0'))},
      {"long4", "2**(8*300)", big(BigInt::from_twos_complement(std::string(300, '\0') + "\x01").to_decimal())},
      {"f_tenth", "0.1", Value::real(0.1)},
      {"f_negzero", "-0.0", Value::real(-0.0)},
      {"f_big", "1e308", Value::real(1e308)},
      {"f_tiny", "5e-324", Value::real(5e-324)},
      {"f_inf", "float('inf')", Value::real(INFINITY)},
      {"f_ninf", "float('-inf')", Value::real(-INFINITY)},
      {"f_nan", "float('nan')", Value::real(NAN)},
      {"s_empty", "''", S("")},
      {"s_unicode", "'héllo ✓'", S("héllo ✓")},
      {"s_astral", "'😀 \\U0010ffff'", S("😀 \xF4\x8F\xBF\xBF")},
      {"s_escapes", "'q\\'s \"x\" \\\\ \\n \\r \\x00 \\x1a \\\\u0041 \\t'", [] {
         static constexpr char text[] = "q's \"x\" \\ \n \r \0 \x1a \\u0041 \t";
         return S(std::string(text, sizeof text - 1));
       }()},
      {"s_300", "'a'*300", S(std::string(300, 'a'))},
      {"s_70000", "'a'*70000", S(std::string(70000, 'a'))},
      {"b_empty", "b''", Value::bytes("")},
      {"b_00ff", "b'\\x00\\xff'", Value::bytes(std::string("\x00\xff", 2))},
      {"b_all", "bytes(range(256))", Value::bytes([] {
         std::string s;
         for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
         return s;
       }())},
      {"b_300", "b'z'*300", Value::bytes(std::string(300, 'z'))},
      {"ba_x", "bytearray(b'x')", Value::bytearray("x")},
      {"ba_empty", "bytearray()", Value::bytearray("")},
      {"t_empty", "()", Value::tuple({})},
      {"t_1", "(1,)", Value::tuple({I(1)})},
      {"t_2", "(1, 2)", Value::tuple({I(1), I(2)})},
      {"t_3", "(1, 2, 3)", Value::tuple({I(1), I(2), I(3)})},
      {"t_5", "(1, 'a', None, 2.5, b'b')", Value::tuple({I(1), S("a"), Value(), Value::real(2.5), Value::bytes("b")})},
      {"l_empty", "[]", Value::list({})},
      {"l_nested", "[1, [2, [3]]]", Value::list({I(1), Value::list({I(2), Value::list({I(3)})})})},
      {"l_bools", "[True, False, None]", Value::list({Value::boolean(true), Value::boolean(false), Value()})},
      {"d_empty", "{}", Value::dict({})},
      {"d_str", "{'a': 1, 'b': [1, 2]}", Value::dict({{S("a"), I(1)}, {S("b"), Value::list({I(1), I(2)})}})},
      {"d_keys", "{1: 'x', (1, 2): 'y', None: 0, 2.5: 1, b'k': 2, frozenset({3}): 3}",
       Value::dict({{I(1), S("x")}, {Value::tuple({I(1), I(2)}), S("y")}, {Value(), I(0)}, {Value::real(2.5), I(1)},
                    {Value::bytes("k"), I(2)}, {Value::frozenset({I(3)}), I(3)}})},
      {"set_empty", "set()", Value::set({})},
      {"set_123", "{1, 2, 3}", Value::set({I(1), I(2), I(3)})},
      {"set_mixed", "{'a', (1, 'b'), None}", Value::set({S("a"), Value::tuple({I(1), S("b")}), Value()})},
      {"fs_a", "frozenset({'a'})", Value::frozenset({S("a")})},
      {"fs_empty", "frozenset()", Value::frozenset({})},
      {"shared", "shared([1, 2])", Value::list({Value::list({I(1), I(2)}), Value::list({I(1), I(2)}),
                                                 Value::tuple({Value::list({I(1), I(2)})})})},
      {"shared_str", "shared('s' * 50)", Value::list({S(std::string(50, 's')), S(std::string(50, 's')),
                                                       Value::tuple({S(std::string(50, 's'))})})},
      {"mixed", "{'args': (1, 'a', None, True, 1.5, b'x'), 'k': {frozenset({1}): {2, 3}}, 'ba': bytearray(b'\\xff')}",
       Value::dict({{S("args"), Value::tuple({I(1), S("a"), Value(), Value::boolean(true), Value::real(1.5), Value::bytes("x")})},
                    {S("k"), Value::dict({{Value::frozenset({I(1)}), Value::set({I(2), I(3)})}})},
                    {S("ba"), Value::bytearray("\xff")}})},
  };
  value::Items ints, set_ints;
  value::DictItems dict_ints;
  for (int i = 0; i < 3000; ++i) ints.push_back(I(i));
  for (int i = 0; i < 2500; ++i) set_ints.push_back(I(i)), dict_ints.emplace_back(S("k" + std::to_string(i)), I(i));
  c.push_back({"l_3000", "list(range(3000))", Value::list(ints)});
  c.push_back({"set_2500", "set(range(2500))", Value::set(set_ints)});
  c.push_back({"d_2500", "{'k%d' % i: i for i in range(2500)}", Value::dict(dict_ints)});
  Value nested = Value::list({});
  for (int i = 0; i < 100; ++i) nested = Value::list({nested});
  c.push_back({"nest_100", "nest(100)", nested});
  return c;
}

}  // namespace pg::test
