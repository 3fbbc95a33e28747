#include "tarp/rpc.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "tarp/json_body.hpp"
#include "value/base64.hpp"

namespace pg::tarp {

namespace {

// "application/json; charset=utf-8" -> "application/json".
std::string media_type(std::string_view content_type) {
  std::string t(content_type.substr(0, content_type.find(';')));
  t.erase(std::remove_if(t.begin(), t.end(), [](unsigned char c) { return std::isspace(c); }), t.end());
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  return t;
}

std::string short_repr(const value::Value& v) {
  std::string r = v.repr();
  if (r.size() > 80) r = r.substr(0, 77) + "...";
  return r;
}

// The unpickled value under `key`; `present` is false (and the value None) when it is absent or null.
Result<value::Value> field(const nlohmann::json& body, const char* key, const PickleLimits& limits, bool& present) {
  present = false;
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return value::Value();
  if (!it->is_string())
    return make_error(std::string("RPC body: '") + key + "' must be a base64 string of a pickle, not a JSON " + it->type_name());
  present = true;
  auto raw = base64_decode(it->get_ref<const std::string&>());
  if (!raw) return make_error(std::string("RPC body: '") + key + "': " + raw.error());
  auto v = unpickle(*raw, limits);
  if (!v) return make_error(std::string("RPC body: '") + key + "': " + v.error());
  return v;
}

}  // namespace

Result<RpcArgs> decode_rpc_body(std::string_view content_type, std::string_view body, const PickleLimits& limits) {
  const std::string type = media_type(content_type);
  if (!type.empty() && type != "application/json")
    return make_error("an RPC body must be JSON (Content-Type: application/json), not '" + type + "'");
  auto parsed = parse_json_body(body, "RPC body");
  if (!parsed) return make_error(parsed.error());
  const auto& j = *parsed;
  if (!j.is_object())
    return make_error(std::string("RPC body must be a JSON object {\"args\": ..., \"kwargs\": ...}, not a JSON ") + j.type_name());

  RpcArgs out;
  bool present = false;
  auto args = field(j, "args", limits, present);
  if (!args) return make_error(args.error());
  if (present) {
    if (!args->is(value::Kind::Tuple))
      return make_error("RPC body: 'args' must be a pickled tuple, not a " + std::string(value::type_name(*args)));
    out.args = args->items();
  }
  auto kwargs = field(j, "kwargs", limits, present);
  if (!kwargs) return make_error(kwargs.error());
  if (present) {
    if (!kwargs->is(value::Kind::Dict))
      return make_error("RPC body: 'kwargs' must be a pickled dict, not a " + std::string(value::type_name(*kwargs)));
    for (const auto& [k, v] : kwargs->dict_items()) {
      if (!k.is(value::Kind::Str))
        return make_error("RPC body: 'kwargs' keys must be str, found " + std::string(value::type_name(k)) + " " + short_repr(k));
      out.kwargs.emplace_back(k.as_str(), v);
    }
  }
  return out;
}

std::string rpc_payload_b64(const value::Value& v) { return base64_encode(pickle(v, 4)); }

}  // namespace pg::tarp
