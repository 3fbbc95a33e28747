#include "tarp/envelope.hpp"

#include <nlohmann/json.hpp>

namespace pg::tarp {

namespace {
using ojson = nlohmann::ordered_json;  // keeps "status" first, as TARP servers write it

http::Response json_response(int status, const ojson& j) {
  http::Response r;
  r.status = status;
  r.content_type = std::string(kJson);
  // Invalid UTF-8 from an inferlet must not throw: replace it.
  r.body = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return r;
}
}  // namespace

http::Response success(const nlohmann::json& result, std::string_view mimetype) {
  ojson j;
  j["status"] = "success";
  j["mimetype"] = mimetype;
  j["result"] = ojson(result);
  return json_response(200, j);
}

http::Response success_text(std::string_view text) { return success(nlohmann::json(std::string(text)), kText); }

http::Response error(int status, std::string_view type, std::string_view message) {
  return error(status, type, message, nlohmann::json());
}

http::Response error(int status, std::string_view type, std::string_view message, const nlohmann::json& extra) {
  ojson j;
  j["status"] = "error";
  j["type"] = type;
  j["message"] = message;
  if (extra.is_object())
    for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = ojson(it.value());
  return json_response(status, j);
}

}  // namespace pg::tarp
