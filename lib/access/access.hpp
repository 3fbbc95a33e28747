// Who the caller is and what they may do: one check shared by every front door. A front door
// hands over what arrived on its wire (the Authorization value, a verified client certificate's
// CN, the peer address) and gets a Caller or a Denial to answer with; then asks whether that
// caller may call an endpoint, see a job (its owner), and spend one call of their rate.
// Without `access:` every caller is the open caller, who may do everything (today's gateway).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "access/throttle.hpp"
#include "config/model.hpp"

namespace pg::obs {
class Metrics;
}

namespace pg::access {

/// The owner recorded on jobs of callers without a credential (access.anonymous).
inline constexpr std::string_view kAnonymous = "(anonymous)";

struct Identity {
  std::string name;  // client name; kAnonymous; "" for the open caller (no access:)
  std::vector<std::string> roles;
  bool admin = false;      // sees and cancels every job, reaches the admin built-ins
  bool anonymous = false;  // no credential
  bool open = false;       // access is off: may do everything, owns "" jobs
  config::AccessRate rate;
  std::size_t max_live_jobs = 0;  // 0 = no per-client cap
};

/// Cheap to copy: one shared identity.
struct Caller {
  std::shared_ptr<const Identity> id;
  const std::string& name() const { return id->name; }
  /// What jobs record as their owner.
  const std::string& owner() const { return id->name; }
  bool admin() const { return id->admin || id->open; }
};

/// What arrived with a request.
struct Presented {
  std::string_view authorization;  // the Authorization header (HTTP) or metadata (gRPC); "" = none
  std::string_view peer_cn;        // a verified client certificate's subject CN; "" = none
  std::string_view remote;         // peer "address:port", for counting failures
};

/// Why a request is refused, in terms every front door maps.
struct Denial {
  enum class Kind {
    Unauthenticated,  // 401 + WWW-Authenticate: Bearer        gRPC UNAUTHENTICATED
    Forbidden,        // 403                                   gRPC PERMISSION_DENIED
    RateLimited,      // 429 + Retry-After                     gRPC RESOURCE_EXHAUSTED (+ retry info)
  };
  Kind kind = Kind::Unauthenticated;
  std::string type;     // TARP envelope type: "Unauthorized", "Forbidden", "TooManyRequests"
  std::string message;  // human readable; never contains a credential
  std::chrono::milliseconds retry_after{0};  // RateLimited
  std::chrono::milliseconds delay{0};        // answer only after this (an address failing repeatedly)
  int http_status() const { return kind == Kind::Unauthenticated ? 401 : kind == Kind::Forbidden ? 403 : 429; }
};

class Access {
 public:
  /// `metrics` (null = none) must outlive this.
  explicit Access(const config::Access& cfg, obs::Metrics* metrics = nullptr);
  /// New clients and limits (reload); rate buckets of clients that stay are kept.
  void configure(const config::Access& cfg);
  bool enabled() const;

  using Outcome = std::variant<Caller, Denial>;
  /// Token first (a wrong one is never taken as anonymous), then a verified certificate's CN,
  /// then anonymous roles, else 401. Thread-safe.
  Outcome authenticate(const Presented& p, Clock::time_point now = Clock::now());
  /// May `c` call something guarded by `allow` (role or client names; empty = any
  /// authenticated, non-anonymous caller)? Admin and the open caller always may.
  std::optional<Denial> authorize(const Caller& c, const std::vector<std::string>& allow, std::string_view what) const;
  /// The same test without counting a refusal (what discovery lists).
  static bool may_call(const Caller& c, const std::vector<std::string>& allow);
  /// Built-ins only admins may use when access is on.
  std::optional<Denial> require_admin(const Caller& c, std::string_view what) const;
  /// Spend one call of the caller's rate. Thread-safe.
  std::optional<Denial> charge(const Caller& c, Clock::time_point now = Clock::now());
  /// May `c` see (and act on) a job or conversation owned by `owner`?
  static bool may_see(const Caller& c, std::string_view owner) { return c.admin() || c.owner() == owner; }

  /// The caller everyone is when access is off.
  static const Caller& open_caller();

 private:
  struct Client {
    std::shared_ptr<const Identity> id;
    std::string token_sha256;
  };
  Denial unauthenticated(std::string message, const Presented& p, std::string_view reason, bool slow,
                         Clock::time_point now);

  mutable std::mutex mu_;
  bool enabled_ = false;
  unsigned free_failures_ = 5;
  std::chrono::milliseconds max_delay_{2000};
  std::vector<Client> clients_;
  std::shared_ptr<const Identity> anonymous_;  // null: anonymous callers get 401
  std::unordered_map<std::string, TokenBucket> buckets_;  // by client name
  FailureThrottle failures_;
  obs::Metrics* metrics_ = nullptr;
};

/// "Bearer realm=\"pie-gateway\"": the WWW-Authenticate value of every 401.
inline constexpr std::string_view kChallenge = "Bearer realm=\"pie-gateway\"";

}  // namespace pg::access
