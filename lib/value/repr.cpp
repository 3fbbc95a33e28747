// Value::repr() and float_repr(): Python's repr() forms, for messages and tests.
#include <charconv>
#include <cmath>
#include <cstdio>

#include "value/value.hpp"

namespace pg::value {

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);  // shortest round trip
  std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));          // [-]d[.ddd]e[+-]XX
  std::string out;
  if (!sci.empty() && sci[0] == '-') {
    out = "-";
    sci.remove_prefix(1);
  }
  const auto e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e))
    if (c != '.') digits += c;
  int exp = 0;
  std::from_chars(sci.data() + e + 1 + (sci[e + 1] == '+' ? 1 : 0), sci.data() + sci.size(), exp);
  if (exp >= -4 && exp < 16) {  // Python's repr: fixed notation in this range
    if (exp < 0) return out + "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
    const auto int_len = static_cast<std::size_t>(exp) + 1;
    if (digits.size() <= int_len) return out + digits + std::string(int_len - digits.size(), '0') + ".0";
    return out + digits.substr(0, int_len) + "." + digits.substr(int_len);
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char ebuf[16];
  std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
  return out + ebuf;
}

namespace {

void hex_escape(std::string& out, unsigned char c) {
  static constexpr char hex[] = "0123456789abcdef";
  out += "\\x";
  out += hex[c >> 4];
  out += hex[c & 15];
}

// Python picks ' unless the text holds ' and no ".
void quoted(std::string& out, std::string_view s, bool is_bytes) {
  const char q = (s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos) ? '"' : '\'';
  out += q;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == q || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (ch == '\n') {
      out += "\\n";
    } else if (ch == '\r') {
      out += "\\r";
    } else if (ch == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F || (is_bytes && c >= 0x80)) {
      hex_escape(out, c);
    } else {
      out += ch;  // printable ASCII, or UTF-8 of str kept as is
    }
  }
  out += q;
}

void repr_into(std::string& out, const Value& v);

void join(std::string& out, const Items& items) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    repr_into(out, items[i]);
  }
}

void repr_into(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Kind::None: out += "None"; return;
    case Kind::Bool: out += v.as_bool() ? "True" : "False"; return;
    case Kind::Int: out += std::to_string(v.as_int()); return;
    case Kind::BigInt: out += v.as_bigint().to_decimal(); return;
    case Kind::Float: out += float_repr(v.as_float()); return;
    case Kind::Str: quoted(out, v.as_str(), false); return;
    case Kind::Bytes:
      if (v.is_bytearray()) out += "bytearray(";
      out += 'b';
      quoted(out, v.as_bytes(), true);
      if (v.is_bytearray()) out += ')';
      return;
    case Kind::List:
      out += '[';
      join(out, v.items());
      out += ']';
      return;
    case Kind::Tuple:
      out += '(';
      join(out, v.items());
      if (v.items().size() == 1) out += ',';
      out += ')';
      return;
    case Kind::Set:
      if (v.items().empty()) {
        out += "set()";
        return;
      }
      out += '{';
      join(out, v.items());
      out += '}';
      return;
    case Kind::FrozenSet:
      out += "frozenset(";
      if (!v.items().empty()) {
        out += '{';
        join(out, v.items());
        out += '}';
      }
      out += ')';
      return;
    case Kind::Dict: {
      out += '{';
      bool first = true;
      for (const auto& [k, x] : v.dict_items()) {
        if (!first) out += ", ";
        first = false;
        repr_into(out, k);
        out += ": ";
        repr_into(out, x);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string Value::repr() const {
  std::string out;
  repr_into(out, *this);
  return out;
}

}  // namespace pg::value
