#include "tarp/body.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "common/expansion.hpp"
#include "tarp/json_body.hpp"
#include "tarp/query.hpp"

namespace pg::tarp {

std::string media_type(std::string_view content_type) {
  auto semi = content_type.find(';');
  std::string t(content_type.substr(0, semi));
  t.erase(std::remove_if(t.begin(), t.end(), [](unsigned char c) { return std::isspace(c); }), t.end());
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  return t;
}

namespace {
Error too_many(std::size_t n) {
  return make_error("a body of " + std::to_string(n) + " parameters is over " + std::string(kExpansionLimit) + " of " +
                    std::to_string(kMaxBodyParams) + " parameters");
}
}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> body_params(std::string_view content_type, std::string_view body) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string type = media_type(content_type);
  if (type == "application/json") {
    auto parsed = parse_json_body(body, "request body");
    if (!parsed) return make_error(parsed.error());
    const auto& j = *parsed;
    if (j.is_object() && j.size() > kMaxBodyParams) return too_many(j.size());
    if (!j.is_object()) return make_error("a JSON request body must be an object of parameters, e.g. {\"prompt\": \"hi\"}");
    for (auto it = j.begin(); it != j.end(); ++it) {
      const auto& v = it.value();
      if (v.is_null()) continue;
      if (v.is_string()) out.emplace_back(it.key(), v.get<std::string>());
      else if (v.is_boolean() || v.is_number()) out.emplace_back(it.key(), v.dump());
      else return make_error("parameter '" + it.key() + "' must be a string, number or boolean, not a " + v.type_name());
    }
    return out;
  }
  if (type == "application/x-www-form-urlencoded") {
    if (const auto pairs = static_cast<std::size_t>(std::count(body.begin(), body.end(), '&')) + 1; pairs > kMaxBodyParams)
      return too_many(pairs);
    for (auto& [k, values] : parse_query(body))
      for (auto& v : values) out.emplace_back(k, std::move(v));
    return out;
  }
  return make_error("this endpoint takes its parameters from the query string or from a JSON object or form body; a " +
                    (type.empty() ? std::string("body without Content-Type") : "'" + type + "' body") + " is not used");
}

}  // namespace pg::tarp
