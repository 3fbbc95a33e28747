// Rate limits: a token bucket per caller, and the slow-down of addresses that keep presenting
// wrong credentials. Plain data with an explicit clock, so tests can drive time.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pg::access {

using Clock = std::chrono::steady_clock;

/// `per_second` calls on average, `burst` at once. take() spends one call if there is one.
class TokenBucket {
 public:
  TokenBucket() = default;
  TokenBucket(double per_second, double burst) : rate_(per_second), burst_(burst), level_(burst) {}
  /// New limits (reload), keeping what was spent.
  void set_limits(double per_second, double burst);
  /// True: a call may go. False: `retry_after` is when the next one may.
  bool take(Clock::time_point now, std::chrono::milliseconds& retry_after);

 private:
  void refill(Clock::time_point now);
  double rate_ = 0, burst_ = 0, level_ = 0;
  Clock::time_point last_{};
};

/// Failed credentials per remote address (without its port), over a sliding minute. At most
/// kMaxAddresses are tracked: when full, the quietest entries go first.
class FailureThrottle {
 public:
  static constexpr std::size_t kMaxAddresses = 4096;
  static constexpr std::chrono::seconds kWindow{60};

  /// Record one failure of `address`; returns how many it made in its window (this one included).
  unsigned fail(std::string_view address, Clock::time_point now);
  /// The delay before answering the `n`th failure: none up to `free`, then 100 ms doubling per
  /// failure up to `max`.
  static std::chrono::milliseconds delay_for(unsigned n, unsigned free, std::chrono::milliseconds max);
  std::size_t tracked() const { return by_address_.size(); }

 private:
  struct Entry {
    unsigned failures = 0;
    Clock::time_point first{}, last{};
  };
  void make_room(Clock::time_point now);
  std::unordered_map<std::string, Entry> by_address_;
};

/// "10.0.0.7" from "10.0.0.7:51234" and "::1" from "[::1]:51234" (what gets counted and logged).
std::string_view address_only(std::string_view remote);

}  // namespace pg::access
