// Value <-> JSON, and the text form of a value used as an inferlet argument.
#include <nlohmann/json.hpp>

#include <cmath>

#include "value/base64.hpp"
#include "value/utf8.hpp"
#include "value/value.hpp"

namespace pg::value {

nlohmann::json to_json(const Value& v) {
  using nlohmann::json;
  switch (v.kind()) {
    case Kind::None: return nullptr;
    case Kind::Bool: return v.as_bool();
    case Kind::Int: return v.as_int();
    case Kind::BigInt: {
      const BigInt b = v.as_bigint();
      if (auto u = b.to_uint64()) return *u;
      return b.to_decimal();
    }
    case Kind::Float: {
      const double d = v.as_float();
      if (!std::isfinite(d)) return nullptr;
      return d;
    }
    case Kind::Str: return utf8_sanitize(v.as_str());
    case Kind::Bytes: return base64_encode(v.as_bytes());
    case Kind::List:
    case Kind::Tuple:
    case Kind::Set:
    case Kind::FrozenSet: {
      json a = json::array();
      for (const auto& x : v.items()) a.push_back(to_json(x));
      return a;
    }
    case Kind::Dict: {
      bool str_keys = true;
      for (const auto& kv : v.dict_items()) str_keys = str_keys && kv.first.kind() == Kind::Str;
      if (str_keys) {
        json o = json::object();
        for (const auto& [k, x] : v.dict_items()) o[utf8_sanitize(k.as_str())] = to_json(x);
        return o;
      }
      json a = json::array();
      for (const auto& [k, x] : v.dict_items()) a.push_back(json::array({to_json(k), to_json(x)}));
      return a;
    }
  }
  return nullptr;
}

namespace {

Result<Value> from_json_at(const nlohmann::json& j, std::size_t depth, std::size_t max_depth) {
  using nlohmann::json;
  switch (j.type()) {
    case json::value_t::null:
    case json::value_t::discarded: return Value::none();
    case json::value_t::boolean: return Value::boolean(j.get<bool>());
    case json::value_t::number_integer: return Value::integer(j.get<std::int64_t>());
    case json::value_t::number_unsigned: return Value::big(BigInt::from_uint64(j.get<std::uint64_t>()));
    case json::value_t::number_float: return Value::real(j.get<double>());
    case json::value_t::string: return Value::str(j.get<std::string>());
    case json::value_t::binary: {
      const auto& bin = j.get_binary();
      return Value::bytes(std::string(bin.begin(), bin.end()));
    }
    case json::value_t::array:
    case json::value_t::object: {
      if (depth >= max_depth)
        return make_error("JSON nested deeper than " + std::to_string(max_depth) + " levels");
      if (j.is_array()) {
        Items items;
        items.reserve(j.size());
        for (const auto& x : j) {
          auto r = from_json_at(x, depth + 1, max_depth);
          if (!r) return r;
          items.push_back(std::move(r).value());
        }
        return Value::list(std::move(items));
      }
      DictItems items;
      items.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) {
        auto r = from_json_at(it.value(), depth + 1, max_depth);
        if (!r) return r;
        items.emplace_back(Value::str(it.key()), std::move(r).value());
      }
      return Value::dict(std::move(items));
    }
  }
  return Value::none();
}

}  // namespace

Result<Value> from_json(const nlohmann::json& j, std::size_t max_depth) { return from_json_at(j, 0, max_depth); }

std::string to_text(const Value& v) {
  switch (v.kind()) {
    case Kind::None: return "null";
    case Kind::Bool: return v.as_bool() ? "true" : "false";
    case Kind::Int: return std::to_string(v.as_int());
    case Kind::BigInt: return v.as_bigint().to_decimal();
    case Kind::Float: return float_repr(v.as_float());
    case Kind::Str: return v.as_str();
    case Kind::Bytes: return base64_encode(v.as_bytes());
    default: return to_json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

}  // namespace pg::value
