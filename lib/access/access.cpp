#include "access/access.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "access/credentials.hpp"
#include "access/token.hpp"
#include "obs/metrics.hpp"

namespace pg::access {

namespace {

bool has(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

bool power_of_two(unsigned n) { return n && !(n & (n - 1)); }

std::string seconds_text(std::chrono::milliseconds ms) {
  return std::to_string(std::max<long long>(1, (ms.count() + 999) / 1000));
}

}  // namespace

Access::Access(const config::Access& cfg, obs::Metrics* metrics) : metrics_(metrics) { configure(cfg); }

const Caller& Access::open_caller() {
  static const Caller kOpen = [] {
    auto id = std::make_shared<Identity>();
    id->open = true;
    return Caller{std::move(id)};
  }();
  return kOpen;
}

void Access::configure(const config::Access& cfg) {
  std::vector<Client> clients;
  std::unordered_map<std::string, TokenBucket> buckets;
  auto keep_bucket = [&](const std::string& name, const config::AccessRate& r) {
    auto old = buckets_.find(name);
    TokenBucket b = old != buckets_.end() ? old->second : TokenBucket(r.per_second, r.burst);
    b.set_limits(r.per_second, r.burst);
    buckets.emplace(name, b);
  };
  for (const auto& c : cfg.clients) {
    auto id = std::make_shared<Identity>();
    id->name = c.name;
    id->roles = c.roles;
    id->admin = has(c.roles, "admin");
    id->rate = c.rate;
    id->max_live_jobs = c.max_live_jobs;
    clients.push_back({std::move(id), c.token_sha256});
  }
  std::shared_ptr<const Identity> anonymous;
  if (!cfg.anonymous_roles.empty()) {
    auto id = std::make_shared<Identity>();
    id->name = std::string(kAnonymous);
    id->roles = cfg.anonymous_roles;
    id->anonymous = true;
    id->rate = cfg.anonymous_rate;
    id->max_live_jobs = cfg.anonymous_max_live_jobs;
    anonymous = std::move(id);
  }
  std::lock_guard lock(mu_);
  for (const auto& c : clients) keep_bucket(c.id->name, c.id->rate);
  if (anonymous) keep_bucket(anonymous->name, anonymous->rate);
  enabled_ = cfg.enabled;
  free_failures_ = cfg.free_failures;
  max_delay_ = cfg.max_delay;
  clients_ = std::move(clients);
  anonymous_ = std::move(anonymous);
  buckets_ = std::move(buckets);
}

bool Access::enabled() const {
  std::lock_guard lock(mu_);
  return enabled_;
}

Denial Access::unauthenticated(std::string message, const Presented& p, std::string_view reason, bool slow,
                               Clock::time_point now) {
  Denial d{Denial::Kind::Unauthenticated, "Unauthorized", std::move(message)};
  const auto address = address_only(p.remote);
  if (metrics_) metrics_->auth_failure(reason);
  if (!slow) return d;
  const unsigned n = failures_.fail(address, now);
  d.delay = FailureThrottle::delay_for(n, free_failures_, max_delay_);
  if (n == 1 || n == free_failures_ + 1 || power_of_two(n))
    spdlog::warn("access: refused a {} credential from {} ({} failure{} from that address in the last minute{})", reason,
                 address.empty() ? "?" : address, n, n == 1 ? "" : "s",
                 d.delay.count() ? "; answers to it are now delayed by " + std::to_string(d.delay.count()) + " ms" : "");
  return d;
}

Access::Outcome Access::authenticate(const Presented& p, Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (!enabled_) return open_caller();
  const Credential cred = parse_authorization(p.authorization);
  if (cred.kind == Credential::Kind::Malformed)
    return unauthenticated("malformed credentials: " + cred.why +
                               " (send Authorization: Bearer TOKEN, or Basic auth with the token as password)",
                           p, "malformed", true, now);
  if (cred.kind == Credential::Kind::Token) {
    const std::string digest = sha256(cred.token);
    const Client* found = nullptr;
    for (const auto& c : clients_)  // every entry is compared: the time does not say which matched
      if (!c.token_sha256.empty() && same_secret(digest, c.token_sha256) && !found) found = &c;
    if (!found) return unauthenticated("the token is not valid for this gateway", p, "invalid", true, now);
    return Caller{found->id};
  }
  if (!p.peer_cn.empty()) {
    for (const auto& c : clients_)
      if (c.id->name == p.peer_cn) return Caller{c.id};
    if (!anonymous_)
      return unauthenticated("the client certificate's CN '" + std::string(p.peer_cn.substr(0, 64)) +
                                 "' names no client, and no token was sent",
                             p, "unknown_certificate", true, now);
  }
  if (anonymous_) return Caller{anonymous_};
  return unauthenticated(
      "this gateway needs a credential: send Authorization: Bearer TOKEN, or Basic auth with the token as "
      "password (https://user:TOKEN@host for a TARP client)",
      p, "missing", false, now);
}

bool Access::may_call(const Caller& c, const std::vector<std::string>& allow) {
  if (c.admin()) return true;
  const Identity& id = *c.id;
  if (allow.empty()) return !id.anonymous;
  if (!id.anonymous && has(allow, id.name)) return true;
  for (const auto& r : id.roles)
    if (has(allow, r)) return true;
  return false;
}

std::optional<Denial> Access::authorize(const Caller& c, const std::vector<std::string>& allow,
                                        std::string_view what) const {
  if (may_call(c, allow)) return std::nullopt;
  const Identity& id = *c.id;
  if (metrics_) metrics_->client_refused(id.name, "forbidden");
  std::string who = id.anonymous ? "an anonymous caller" : "client '" + id.name + "'";
  return Denial{Denial::Kind::Forbidden, "Forbidden",
                who + " may not use " + std::string(what) +
                    (id.anonymous ? " (send a token)" : " (ask an admin for a role it allows)")};
}

std::optional<Denial> Access::require_admin(const Caller& c, std::string_view what) const {
  if (c.admin()) return std::nullopt;
  if (metrics_) metrics_->client_refused(c.name(), "forbidden");
  return Denial{Denial::Kind::Forbidden, "Forbidden", std::string(what) + " needs the admin role"};
}

std::optional<Denial> Access::charge(const Caller& c, Clock::time_point now) {
  if (c.id->open || !c.id->rate.limited()) {
    if (metrics_ && !c.id->open) metrics_->client_call(c.name());
    return std::nullopt;
  }
  std::chrono::milliseconds retry{0};
  {
    std::lock_guard lock(mu_);
    auto it = buckets_.find(c.name());
    if (it == buckets_.end())  // the client was removed by a reload while this request was on its way
      it = buckets_.emplace(c.name(), TokenBucket(c.id->rate.per_second, c.id->rate.burst)).first;
    if (it->second.take(now, retry)) {
      if (metrics_) metrics_->client_call(c.name());
      return std::nullopt;
    }
  }
  if (metrics_) metrics_->client_refused(c.name(), "rate");
  return Denial{Denial::Kind::RateLimited, "TooManyRequests",
                (c.id->anonymous ? std::string("anonymous callers are") : "client '" + c.name() + "' is") +
                    fmt::format(" over the rate of {:g} calls/s (burst {:g}); retry after {} s", c.id->rate.per_second,
                                c.id->rate.burst, seconds_text(retry)),
                retry};
}

}  // namespace pg::access
