// One value type for everything a caller may send or get back: the Python values TARP clients pickle
// (None, bool, int, float, str, bytes, bytearray, list, tuple, dict, set, frozenset) and JSON.
// Values are plain trees (copies are deep); the pickle reader bounds their size and depth.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "value/bigint.hpp"

namespace pg::value {

enum class Kind : std::uint8_t { None, Bool, Int, BigInt, Float, Str, Bytes, List, Tuple, Dict, Set, FrozenSet };

class Value;
using Items = std::vector<Value>;                          // list, tuple, set, frozenset
using DictItems = std::vector<std::pair<Value, Value>>;    // dict, in insertion order

class Value {
 public:
  Value() = default;  // None
  static Value none() { return Value(); }
  static Value boolean(bool b);
  static Value integer(std::int64_t i);
  /// An Int when `b` fits in int64, else a BigInt: one canonical form for every integer.
  static Value big(BigInt b);
  static Value real(double d);
  static Value str(std::string utf8);
  static Value bytes(std::string data);
  static Value bytearray(std::string data);
  static Value list(Items items = {});
  static Value tuple(Items items = {});
  /// Keys are kept as given (the pickle reader removes duplicates; callers building dicts should too).
  static Value dict(DictItems items = {});
  static Value set(Items items = {});
  static Value frozenset(Items items = {});

  Kind kind() const { return kind_; }
  bool is(Kind k) const { return kind_ == k; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_integer() const { return kind_ == Kind::Int || kind_ == Kind::BigInt; }
  /// List, Tuple, Set or FrozenSet.
  bool is_sequence() const;

  // Accessors: on a value of another kind they return a neutral default (false, 0, empty), never throw.
  bool as_bool() const;
  std::int64_t as_int() const;
  /// Any integer as a BigInt (Int widened).
  BigInt as_bigint() const;
  double as_float() const;
  const std::string& as_str() const;
  /// The bytes of a Bytes value (bytes or bytearray).
  const std::string& as_bytes() const;
  bool is_bytearray() const;
  const Items& items() const;
  const DictItems& dict_items() const;
  /// The value under str key `key` in a Dict, or nullptr.
  const Value* find(std::string_view key) const;

  /// Python-like text for messages and tests: None, True, 12, 0.1, 'a\n', b'\x00', [1, 2], (1,), {'k': 1}, set(), ...
  std::string repr() const;

  /// Structural equality: same kind (list != tuple, set != frozenset, bool != int != float, bytes != bytearray)
  /// and same content; dicts and sets compare without regard to order; floats with ==, except NaN == NaN.
  friend bool operator==(const Value& a, const Value& b);

 private:
  struct ByteData {
    std::string data;
    bool bytearray = false;
  };
  Kind kind_ = Kind::None;
  std::variant<std::monostate, bool, std::int64_t, BigInt, double, std::string, ByteData, Items, DictItems> v_;
};

/// A hash consistent with operator== (order-independent for dicts and sets).
std::size_t hash_value(const Value& v);
struct ValueHash {
  std::size_t operator()(const Value& v) const { return hash_value(v); }
};

/// Python's type name: "NoneType", "bool", "int", "float", "str", "bytes", "bytearray", "list", ...
std::string_view type_name(const Value& v);

/// Python's repr() of a float: 0.1, 1.0, 1e+16, 1e-05, inf, nan.
std::string float_repr(double d);

/// JSON form: None -> null; bool; int; BigInt -> a number when it fits in uint64, else its decimal text as a
/// string; float -> number (NaN and +-Infinity have no JSON form: null); str (ill-formed UTF-8 replaced by
/// U+FFFD); bytes/bytearray -> standard base64 string (as TARP sends bytes); list/tuple/set/frozenset -> array;
/// dict -> object when every key is a str, else an array of [key, value] pairs.
nlohmann::json to_json(const Value& v);

/// From JSON: null, bool, integers (above int64 -> BigInt), float, string, array -> List, object -> Dict with
/// Str keys (binary -> Bytes). Arrays/objects nested deeper than `max_depth` are refused.
Result<Value> from_json(const nlohmann::json& j, std::size_t max_depth = 512);

/// Parse JSON text straight into a Value, keeping integers of any size exact (as Python's
/// json.loads does; nlohmann's own DOM would turn them into doubles). Errors name the position.
Result<Value> parse_json(std::string_view text, std::size_t max_depth = 512);

/// Text for an inferlet argument: str as-is; int, float as Python's str() (12, 0.1, 1e+16, inf, nan);
/// bool and None JSON-style ("true", "false", "null"); bytes -> base64; containers -> their compact JSON text.
std::string to_text(const Value& v);

}  // namespace pg::value
