#include "frontdoor/access_answers.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "tarp/envelope.hpp"

namespace pg::frontdoor {

http::Response denial_answer(const access::Denial& d) {
  auto r = tarp::error(d.http_status(), d.type, d.message);
  if (d.kind == access::Denial::Kind::Unauthenticated) {
    r.headers.emplace_back("WWW-Authenticate", std::string(access::kChallenge));
  } else if (d.kind == access::Denial::Kind::RateLimited) {
    // Whole seconds (the Python client does int(Retry-After)), rounded up, at least 1.
    r.headers.emplace_back("Retry-After", std::to_string(std::max<long long>(1, (d.retry_after.count() + 999) / 1000)));
  }
  return r;
}

http::Response refusal_answer(const jobs::JobService::Refusal& refusal) {
  auto r = tarp::error(429, "TooManyRequests", refusal.message);
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

std::string_view refusal_reason(const jobs::JobService::Refusal& r) {
  return r.kind == jobs::JobService::Refusal::Kind::ClientCap ? "live_jobs" : "fair_share";
}

nlohmann::json public_servers(const nlohmann::json& described) {
  auto out = nlohmann::json::array();
  for (const auto& s : described) {
    nlohmann::json j = nlohmann::json::object();
    for (const char* key : {"name", "protocol", "state", "groups"})
      if (s.contains(key)) j[key] = s[key];
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace pg::frontdoor
