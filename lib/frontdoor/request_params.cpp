#include "frontdoor/request_params.hpp"

#include "tarp/body.hpp"
#include "tarp/query.hpp"

namespace pg::frontdoor {

Result<endpoints::Params> request_params(const http::Request& req, bool with_body) {
  endpoints::Params params;
  for (auto& [k, values] : tarp::parse_query(req.query))
    for (auto& v : values) params.emplace_back(k, std::move(v));
  if (with_body && !req.body.empty()) {
    auto body = tarp::body_params(req.header("Content-Type"), req.body);
    if (!body) return make_error(body.error());
    for (auto& kv : *body) params.push_back(std::move(kv));
  }
  return params;
}

Result<std::string> single(const endpoints::Params& params, const std::string& name) {
  std::string out;
  int seen = 0;
  for (const auto& [k, v] : params)
    if (k == name) out = v, ++seen;
  if (seen > 1) return make_error("parameter '" + name + "' is given more than once");
  return out;
}

}  // namespace pg::frontdoor
