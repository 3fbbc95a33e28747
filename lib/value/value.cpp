#include "value/value.hpp"

#include <cmath>
#include <functional>
#include <unordered_map>

namespace pg::value {

namespace {
const std::string kEmptyString;
const Items kEmptyItems;
const DictItems kEmptyDict;
}  // namespace

Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::Bool;
  v.v_ = b;
  return v;
}
Value Value::integer(std::int64_t i) {
  Value v;
  v.kind_ = Kind::Int;
  v.v_ = i;
  return v;
}
Value Value::big(BigInt b) {
  if (auto small = b.to_int64()) return integer(*small);
  Value v;
  v.kind_ = Kind::BigInt;
  v.v_ = std::move(b);
  return v;
}
Value Value::real(double d) {
  Value v;
  v.kind_ = Kind::Float;
  v.v_ = d;
  return v;
}
Value Value::str(std::string utf8) {
  Value v;
  v.kind_ = Kind::Str;
  v.v_ = std::move(utf8);
  return v;
}
Value Value::bytes(std::string data) {
  Value v;
  v.kind_ = Kind::Bytes;
  v.v_ = ByteData{std::move(data), false};
  return v;
}
Value Value::bytearray(std::string data) {
  Value v;
  v.kind_ = Kind::Bytes;
  v.v_ = ByteData{std::move(data), true};
  return v;
}

#define PG_SEQUENCE_FACTORY(fn, K) \
  Value Value::fn(Items items) {   \
    Value v;                       \
    v.kind_ = Kind::K;             \
    v.v_ = std::move(items);       \
    return v;                      \
  }
PG_SEQUENCE_FACTORY(list, List)
PG_SEQUENCE_FACTORY(tuple, Tuple)
PG_SEQUENCE_FACTORY(set, Set)
PG_SEQUENCE_FACTORY(frozenset, FrozenSet)
#undef PG_SEQUENCE_FACTORY

Value Value::dict(DictItems items) {
  Value v;
  v.kind_ = Kind::Dict;
  v.v_ = std::move(items);
  return v;
}

bool Value::is_sequence() const {
  return kind_ == Kind::List || kind_ == Kind::Tuple || kind_ == Kind::Set || kind_ == Kind::FrozenSet;
}

bool Value::as_bool() const {
  const bool* b = std::get_if<bool>(&v_);
  return b != nullptr && *b;
}
std::int64_t Value::as_int() const {
  const std::int64_t* i = std::get_if<std::int64_t>(&v_);
  return i != nullptr ? *i : 0;
}
BigInt Value::as_bigint() const {
  if (const BigInt* b = std::get_if<BigInt>(&v_)) return *b;
  return BigInt::from_int64(as_int());
}
double Value::as_float() const {
  const double* d = std::get_if<double>(&v_);
  return d != nullptr ? *d : 0.0;
}
const std::string& Value::as_str() const {
  const std::string* s = std::get_if<std::string>(&v_);
  return s != nullptr ? *s : kEmptyString;
}
const std::string& Value::as_bytes() const {
  const ByteData* b = std::get_if<ByteData>(&v_);
  return b != nullptr ? b->data : kEmptyString;
}
bool Value::is_bytearray() const {
  const ByteData* b = std::get_if<ByteData>(&v_);
  return b != nullptr && b->bytearray;
}
const Items& Value::items() const {
  const Items* i = std::get_if<Items>(&v_);
  return i != nullptr ? *i : kEmptyItems;
}
const DictItems& Value::dict_items() const {
  const DictItems* d = std::get_if<DictItems>(&v_);
  return d != nullptr ? *d : kEmptyDict;
}
const Value* Value::find(std::string_view key) const {
  for (const auto& [k, v] : dict_items())
    if (k.kind() == Kind::Str && k.as_str() == key) return &v;
  return nullptr;
}

namespace {

bool float_equal(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

// Equal as multisets: in-order fast path, else match through hash buckets.
template <typename T, typename Eq, typename Hash>
bool unordered_equal(const std::vector<T>& a, const std::vector<T>& b, Eq eq, Hash hash) {
  if (a.size() != b.size()) return false;
  bool in_order = true;
  for (std::size_t i = 0; i < a.size() && in_order; ++i) in_order = eq(a[i], b[i]);
  if (in_order) return true;
  std::unordered_multimap<std::size_t, std::size_t> buckets;
  buckets.reserve(b.size());
  for (std::size_t i = 0; i < b.size(); ++i) buckets.emplace(hash(b[i]), i);
  for (const auto& x : a) {
    auto [lo, hi] = buckets.equal_range(hash(x));
    bool found = false;
    for (auto it = lo; it != hi; ++it) {
      if (eq(x, b[it->second])) {
        buckets.erase(it);
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

std::size_t mix(std::size_t h, std::size_t v) { return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)); }

std::size_t pair_hash(const std::pair<Value, Value>& p) { return mix(hash_value(p.first), hash_value(p.second)); }
bool pair_equal(const std::pair<Value, Value>& x, const std::pair<Value, Value>& y) {
  return x.first == y.first && x.second == y.second;
}

}  // namespace

bool operator==(const Value& a, const Value& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case Kind::None: return true;
    case Kind::Bool: return a.as_bool() == b.as_bool();
    case Kind::Int: return a.as_int() == b.as_int();
    case Kind::BigInt: return std::get<BigInt>(a.v_) == std::get<BigInt>(b.v_);
    case Kind::Float: return float_equal(a.as_float(), b.as_float());
    case Kind::Str: return a.as_str() == b.as_str();
    case Kind::Bytes: return a.is_bytearray() == b.is_bytearray() && a.as_bytes() == b.as_bytes();
    case Kind::List:
    case Kind::Tuple: return a.items() == b.items();
    case Kind::Set:
    case Kind::FrozenSet:
      return unordered_equal(a.items(), b.items(), std::equal_to<Value>(), ValueHash());
    case Kind::Dict: return unordered_equal(a.dict_items(), b.dict_items(), pair_equal, pair_hash);
  }
  return false;
}

std::size_t hash_value(const Value& v) {
  std::size_t h = static_cast<std::size_t>(v.kind()) * 0x100000001b3ULL;
  switch (v.kind()) {
    case Kind::None: return h;
    case Kind::Bool: return mix(h, v.as_bool());
    case Kind::Int: return mix(h, std::hash<std::int64_t>()(v.as_int()));
    case Kind::BigInt: {
      const BigInt b = v.as_bigint();
      h = mix(h, b.negative());
      for (auto limb : b.limbs()) h = mix(h, limb);
      return h;
    }
    case Kind::Float: {
      const double d = v.as_float();
      if (std::isnan(d)) return mix(h, 1);
      return mix(h, d == 0.0 ? 0 : std::hash<double>()(d));  // -0.0 == 0.0
    }
    case Kind::Str: return mix(h, std::hash<std::string>()(v.as_str()));
    case Kind::Bytes: return mix(mix(h, v.is_bytearray()), std::hash<std::string>()(v.as_bytes()));
    case Kind::List:
    case Kind::Tuple:
      for (const auto& x : v.items()) h = mix(h, hash_value(x));
      return h;
    case Kind::Set:
    case Kind::FrozenSet: {
      std::size_t sum = 0;  // order-independent
      for (const auto& x : v.items()) sum += hash_value(x) * 0x9e3779b97f4a7c15ULL + 1;
      return mix(h, sum);
    }
    case Kind::Dict: {
      std::size_t sum = 0;
      for (const auto& p : v.dict_items()) sum += pair_hash(p) * 0x9e3779b97f4a7c15ULL + 1;
      return mix(h, sum);
    }
  }
  return h;
}

std::string_view type_name(const Value& v) {
  switch (v.kind()) {
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int:
    case Kind::BigInt: return "int";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::Bytes: return v.is_bytearray() ? "bytearray" : "bytes";
    case Kind::List: return "list";
    case Kind::Tuple: return "tuple";
    case Kind::Dict: return "dict";
    case Kind::Set: return "set";
    case Kind::FrozenSet: return "frozenset";
  }
  return "?";
}

}  // namespace pg::value
